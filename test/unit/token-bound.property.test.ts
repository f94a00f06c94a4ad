// mostTokens bounds a prompt's tokens by its text alone; the bound must never be below
// what a tokenizer can make of it: its UTF-8 bytes after the widest normalization, plus
// what tokenizers add.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ADDED_TOKENS, mostTokens } from "../../src/prompt/token-bound.js";

const normalizedBytes = (text: string) => Math.max(...(["NFC", "NFD", "NFKC", "NFKD"] as const).map((form) => Buffer.byteLength(text.normalize(form))));

describe("mostTokens", () => {
  it("is ASCII's bytes plus the added tokens", () => {
    expect(mostTokens("")).toBe(ADDED_TOKENS);
    expect(mostTokens("Hello, world\n")).toBe(13 + ADDED_TOKENS);
  });

  it("covers the widest NFKC expansion there is (U+FDFA, 18 code points)", () => {
    expect(mostTokens("\uFDFA")).toBeGreaterThanOrEqual(normalizedBytes("\uFDFA") + ADDED_TOKENS);
  });

  it("counts a surrogate pair as one code point", () => {
    expect(mostTokens("😀")).toBe(mostTokens("é"));
  });

  it("is never below the normalized UTF-8 bytes plus the added tokens, for any text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
        expect(mostTokens(text)).toBeGreaterThanOrEqual(normalizedBytes(text) + ADDED_TOKENS);
      }),
      { numRuns: 2000 },
    );
  });

  it("reads 32 MiB in linear time", () => {
    const started = performance.now();
    expect(mostTokens("a".repeat(32 * 1024 * 1024))).toBe(32 * 1024 * 1024 + ADDED_TOKENS);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
