import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EscapeError, escapeText, parseEscapes } from "../../src/lib/escapes.js";
import { parseStopString } from "../../src/command-line/stop-strings.js";

describe("parseEscapes", () => {
  it("reads \\n, \\t, \\0 and \\\\", () => {
    expect(parseEscapes("a\\nb\\tc\\0d\\\\e")).toBe("a\nb\tc\0d\\e");
    expect(parseEscapes("\\\\n")).toBe("\\n");
    expect(parseEscapes("no escapes, a real\nnewline")).toBe("no escapes, a real\nnewline");
  });

  it("refuses an unknown escape and a lone backslash, naming the escape only when it is printable", () => {
    expect(() => parseEscapes("\\q")).toThrow(new EscapeError("has an unknown escape \\q (known: \\n, \\t, \\0 and \\\\; write \\\\ for a backslash)"));
    expect(() => parseEscapes("a\\")).toThrow(/ends in a lone backslash/);
    expect(() => parseEscapes("\\\n")).toThrow(/unknown escape a backslash before a character/);
    expect(() => parseEscapes("\\\u001b[2J")).toThrow(/unknown escape a backslash before a character/);
  });

  it("gives back any string that escapeText wrote", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), (text) => parseEscapes(escapeText(text)) === text));
    fc.assert(fc.property(fc.stringMatching(/^[\\ntq0\n]*$/), (text) => parseEscapes(escapeText(text)) === text));
  });

  it("leaves a text without backslashes as it is", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "binary" }).filter((text) => !text.includes("\\")),
        (text) => parseEscapes(text) === text,
      ),
    );
  });

  it("reads or refuses any text, never anything else", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\\ntq0x\n]*$/), (text) => {
        try {
          parseEscapes(text);
        } catch (error) {
          expect(error).toBeInstanceOf(EscapeError);
        }
      }),
    );
  });
});

describe("parseStopString", () => {
  it("reads escapes, and refuses NUL however it is written", () => {
    expect(parseStopString("\\n")).toBe("\n");
    expect(parseStopString("\n")).toBe("\n");
    expect(() => parseStopString("\\0")).toThrow(/holds NUL/);
    expect(() => parseStopString("a\0")).toThrow(/holds NUL/);
  });
});
