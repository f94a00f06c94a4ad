import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EscapeError, escapeText, parseEscapes } from "../../src/lib/escapes.js";
import { parseStopString } from "../../src/command-line/stop-strings.js";
import { parseArgs } from "../../src/command-line/args.js";
import { resolveOptions } from "../../src/command-line/resolve-options.js";
import { UsageError } from "../../src/errors.js";

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

describe("--stop, property-based", () => {
  const stopsOf = (argv: string[]) => {
    const options = resolveOptions(parseArgs(argv), {});
    return options.action === "complete" ? options.stopStrings : [];
  };

  it("gives back any stop string without NUL written with the escapes, each of many in order", () => {
    const stop = fc.string({ unit: "binary", minLength: 1 }).filter((text) => !text.includes("\0"));
    fc.assert(
      fc.property(fc.array(stop, { minLength: 1, maxLength: 4 }), (stops) => {
        expect(stopsOf([...stops.flatMap((text) => ["--stop", escapeText(text)]), "hi"])).toEqual(stops);
      }),
    );
  });

  it("reads any --stop text or refuses it as a usage error, never anything else", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("\\", "0", "n", "t", "q", "\n", "é"), minLength: 1, maxLength: 12 }), (text) => {
        try {
          stopsOf(["--stop", text, "hi"]);
        } catch (error) {
          expect(error).toBeInstanceOf(UsageError);
          expect((error as Error).message).toMatch(/^--stop ".*" (has an unknown escape|ends in a lone backslash|holds NUL)/s);
        }
      }),
    );
  });

  it("reads a stop of a million escapes in time linear in its length", () => {
    const started = performance.now();
    expect(stopsOf(["--stop", "\\n".repeat(1_000_000), "hi"])[0]).toHaveLength(1_000_000);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
