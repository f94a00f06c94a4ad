import { describe, expect, it } from "vitest";
import { formatListing } from "../../src/list/listing.js";

const models = [
  { key: "qwen2.5-7b-instruct", displayName: "Qwen2.5 7B Instruct", loaded: true, identifiers: ["qwen2.5-7b-instruct"], sizeBytes: 1 },
  { key: "llama-3", displayName: "Llama 3", loaded: false, identifiers: [], sizeBytes: 2 },
];

describe("formatListing", () => {
  it("gives keys only, one per line, in a pipe", () => {
    expect(formatListing(models, { json: false, terminal: false })).toBe("qwen2.5-7b-instruct\nllama-3\n");
  });
  it("gives columns on a terminal", () => {
    expect(formatListing(models, { json: false, terminal: true })).toBe(
      "qwen2.5-7b-instruct  loaded  Qwen2.5 7B Instruct\n" + "llama-3                      Llama 3\n",
    );
  });
  it("gives one JSON array with --json", () => {
    expect(JSON.parse(formatListing(models, { json: true, terminal: true }))).toEqual(models);
  });
  it("says so when there is nothing, on a terminal only", () => {
    expect(formatListing([], { json: false, terminal: true })).toBe("no models are downloaded\n");
    expect(formatListing([], { json: false, terminal: false })).toBe("");
    expect(formatListing([], { json: true, terminal: false })).toBe("[]\n");
  });
});
