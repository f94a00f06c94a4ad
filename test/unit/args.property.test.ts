// Property-based tests of the command line: what a user means (options, values,
// words) written out in every spelling the parser accepts, and read back the same.
// A failure prints fast-check's seed and the smallest command line that breaks.

import assert from "node:assert";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseArgs } from "../../src/command-line/args.js";
import { optionSpecs, type OptionSpec } from "../../src/command-line/option-table.js";
import { resolveOptions } from "../../src/command-line/resolve-options.js";
import { UsageError } from "../../src/errors.js";

const runs = { numRuns: 300 };

/** One thing a user means on the command line. */
type Intent =
  | { type: "flag"; spec: OptionSpec; short: boolean; glue: boolean }
  | { type: "value"; spec: OptionSpec; value: string; spelling: Spelling }
  | { type: "word"; text: string };

type Spelling = "--name value" | "--name=value" | "-x value" | "-xvalue" | "-x=value";

/** Any text, newlines, NULs, dashes, "=", "--" and emoji included. */
const anyText = fc.oneof(fc.string({ unit: "binary", maxLength: 12 }), fc.constantFrom("", "-", "--", "-x", "--model", "=", "a=b", "\n", "\0"));

/** A prompt word as the parser sees one: "-" (stdin), or text that does not start with a dash of any kind. */
const word = fc.oneof(
  fc.constant("-"),
  fc.string({ unit: "binary", maxLength: 12 }).filter((text) => !/^[-\p{Pd}]/u.test(text)),
);

const flagSpecs = optionSpecs.filter((spec) => spec.kind === "flag");
const valueSpecs = optionSpecs.filter((spec) => spec.kind !== "flag");

const intent: fc.Arbitrary<Intent> = fc.oneof(
  fc
    .record({ spec: fc.constantFrom(...flagSpecs), short: fc.boolean(), glue: fc.boolean() })
    .map(({ spec, short, glue }) => ({ type: "flag" as const, spec, short: short && spec.short !== undefined, glue })),
  fc
    .record({
      spec: fc.constantFrom(...valueSpecs),
      value: anyText,
      spelling: fc.constantFrom<Spelling>("--name value", "--name=value", "-x value", "-xvalue", "-x=value"),
    })
    .map(({ spec, value, spelling }) => ({ type: "value" as const, spec, value, spelling: usable(spec, value, spelling) })),
  word.map((text) => ({ type: "word" as const, text })),
);

/**
 * The spelling, or another where it cannot say this value: an option with no short
 * letter, "-x" glued to a value that starts with "=", or an empty value after "-x"
 * or "-x=" (both read as "-x" alone, which takes the next argument).
 */
function usable(spec: OptionSpec, value: string, spelling: Spelling): Spelling {
  if (spelling.startsWith("-x") && spec.short === undefined) return "--name value";
  if (spelling === "-xvalue" && (value === "" || value.startsWith("="))) return "-x value";
  if (spelling === "-x=value" && value === "") return "-x value";
  return spelling;
}

function spell(intent: Exclude<Intent, { type: "flag" }>): string[] {
  if (intent.type === "word") return [intent.text];
  const { spec, value } = intent;
  switch (intent.spelling) {
    case "--name value":
      return [`--${spec.name}`, value];
    case "--name=value":
      return [`--${spec.name}=${value}`];
    case "-x value":
      return [`-${spec.short}`, value];
    case "-xvalue":
      return [`-${spec.short}${value}`];
    case "-x=value":
      return [`-${spec.short}=${value}`];
  }
}

/**
 * The command line for `intents`, then "--" and `rest` when given. A short flag
 * marked `glue` is joined to the short option after it, as in -vn40.
 */
function commandLine(intents: Intent[], rest: string[] | undefined): string[] {
  const argv: string[] = [];
  let gluedLetters = "";
  for (const intent of intents) {
    if (intent.type === "flag" && intent.short && intent.glue) {
      gluedLetters += intent.spec.short;
      continue;
    }
    const spelled = intent.type === "flag" ? [intent.short ? `-${intent.spec.short}` : `--${intent.spec.name}`] : spell(intent);
    if (gluedLetters && /^-[^-]/.test(spelled[0]!) && intent.type !== "word") spelled[0] = `-${gluedLetters}${spelled[0]!.slice(1)}`;
    else if (gluedLetters) argv.push(`-${gluedLetters}`);
    gluedLetters = "";
    argv.push(...spelled);
  }
  if (gluedLetters) argv.push(`-${gluedLetters}`);
  if (rest) argv.push("--", ...rest);
  return argv;
}

/** What the parser must make of the intents: the reference, in the plainest terms. */
function meaning(intents: Intent[], rest: string[] | undefined) {
  const values: Record<string, string> = {};
  const lists: Record<string, string[]> = {};
  const flags = new Set<string>();
  const words: string[] = [];
  for (const intent of intents) {
    if (intent.type === "word") words.push(intent.text);
    else if (intent.type === "flag") flags.add(intent.spec.name);
    else if (intent.spec.kind === "list") (lists[intent.spec.name] ??= []).push(intent.value);
    else values[intent.spec.name] = intent.value;
  }
  return { values, lists, flags: [...flags].sort(), words: [...words, ...(rest ?? [])] };
}

const asPlain = (parsed: ReturnType<typeof parseArgs>) => ({
  values: Object.fromEntries(parsed.values),
  lists: Object.fromEntries(parsed.lists),
  flags: [...parsed.flags].sort(),
  words: parsed.words,
});

describe("parseArgs, property-based", () => {
  it("reads back what was meant, in whatever spelling it was written", () => {
    fc.assert(
      fc.property(fc.array(intent, { maxLength: 10 }), fc.option(fc.array(anyText, { maxLength: 4 }), { nil: undefined }), (intents, rest) => {
        expect(asPlain(parseArgs(commandLine(intents, rest)))).toEqual(meaning(intents, rest));
      }),
      runs,
    );
  });

  it("refuses only with a usage error, whatever the command line", () => {
    const piece = fc.oneof(anyText, fc.constantFrom(...optionSpecs.flatMap((s) => [`--${s.name}`, ...(s.short ? [`-${s.short}`] : [])])));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (argv) => {
        try {
          parseArgs(argv);
        } catch (error) {
          expect(error).toBeInstanceOf(UsageError);
          expect((error as Error).message).toMatch(/^(unknown option|option --?\S+ (needs a value|takes no value))/);
        }
      }),
      runs,
    );
  });
});

/** --delimiter's text for `delimiter`: its NUL, newline, tab and backslash written as escapes. */
const escaped = (delimiter: string) => delimiter.replace(/[\0\n\t\\]/g, (char) => ({ "\0": "\\0", "\n": "\\n", "\t": "\\t", "\\": "\\\\" })[char]!);

/** The reference reading of --delimiter's escapes: left to right, two characters at a time after a backslash; undefined for an unknown escape or a lone backslash. */
function unescaped(text: string): string | undefined {
  const escapes: Record<string, string> = { "0": "\0", n: "\n", t: "\t", "\\": "\\" };
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "\\") out += text[i];
    else if (i + 1 === text.length) return undefined;
    else {
      const next = escapes[text[++i]!];
      if (next === undefined) return undefined;
      out += next;
    }
  }
  return out;
}

const delimiterOf = (text: string) => {
  const options = resolveOptions(parseArgs(["--each", "-d", text]), {});
  assert(options.action === "batch");
  return options.delimiter;
};

describe("--delimiter's escapes, property-based", () => {
  const delimiterText = fc.string({ unit: fc.constantFrom("\\", "0", "n", "t", "x", "\0", "\n", "\t", "é", "-"), maxLength: 16 });

  it("give back any delimiter written with them", () => {
    fc.assert(
      fc.property(delimiterText, (delimiter) => {
        expect(delimiterOf(escaped(delimiter))).toBe(delimiter);
      }),
      runs,
    );
  });

  it("read any text as the reference does (an unknown escape or a lone backslash refused)", () => {
    fc.assert(
      fc.property(delimiterText, (text) => {
        const expected = unescaped(text);
        if (expected === undefined) expect(() => delimiterOf(text)).toThrow(UsageError);
        else expect(delimiterOf(text)).toBe(expected);
      }),
      runs,
    );
  });
});

describe("flags and the environment, property-based", () => {
  const maybeCount = fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: undefined });

  it("a flag wins over its environment variable, which wins over the default", () => {
    fc.assert(
      fc.property(maybeCount, maybeCount, fc.boolean(), (flag, fromEnv, short) => {
        const argv = flag === undefined ? [] : short ? [`-n${flag}`] : ["--max-tokens", String(flag)];
        const env = fromEnv === undefined ? {} : { LMC_MAX_TOKENS: String(fromEnv) };
        const options = resolveOptions(parseArgs([...argv, "hi"]), env);
        assert(options.action === "complete");
        expect(options.prediction.maxTokens).toBe(flag ?? fromEnv);
      }),
      runs,
    );
  });
});
