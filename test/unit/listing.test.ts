import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { escapeKey, formatListing } from "../../src/list/listing.js";

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

describe("escapeKey: one line per key in a pipe, undone by printf %b", () => {
  it.each([
    ["plain/key-7b@q4", "plain/key-7b@q4"],
    ["new\nline", "new\\nline"],
    ["tab\there", "tab\\there"],
    ["back\\slash", "back\\\\slash"],
    ["a\\nb", "a\\\\nb"], // a backslash and an n, not a newline
    ["cr\rnul\u0000esc\u001bdel\u007f", "cr\\x0dnul\\x00esc\\x1bdel\\x7f"],
    ["c1\u0085\u009b", "c1\\u0085\\u009b"],
    ["$(x) `y` ; * 'q' \"q\" é ✓", "$(x) `y` ; * 'q' \"q\" é ✓"],
  ])("%j → %j", (key, line) => {
    expect(escapeKey(key)).toBe(line);
  });

  it("writes a key with a newline or control character escaped, one key per line, piped and on a terminal", () => {
    const hostile = [{ ...models[1]!, key: "two\nlines\u001b[2J" }];
    expect(formatListing(hostile, { json: false, terminal: false })).toBe("two\\nlines\\x1b[2J\n");
    expect(formatListing(hostile, { json: false, terminal: true })).toMatch(/^two\\nlines\\x1b\[2J {2}/);
    expect(JSON.parse(formatListing(hostile, { json: true, terminal: false }))[0].key).toBe("two\nlines\u001b[2J");
  });

  /** What printf's %b does with escapeKey's escapes (and nothing else: no other backslash is left). */
  const printfB = (line: string) =>
    line.replace(/\\(\\|n|t|x[0-9a-f]{2}|u[0-9a-f]{4})/g, (_, escape: string) =>
      escape === "\\" ? "\\" : escape === "n" ? "\n" : escape === "t" ? "\t" : String.fromCharCode(parseInt(escape.slice(1), 16)),
    );

  it("gives every key back, on one line with no control character", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (key) => {
        const line = escapeKey(key);
        expect(line).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
        expect(printfB(line)).toBe(key);
      }),
      { numRuns: 2000 },
    );
  });
});
