import { describe, expect, it } from "vitest";
import { closestOption, parseArgs } from "../../src/command-line/args.js";
import { UsageError } from "../../src/errors.js";

const parse = (...argv: string[]) => {
  const p = parseArgs(argv);
  return { values: Object.fromEntries(p.values), lists: Object.fromEntries(p.lists), flags: [...p.flags], words: p.words };
};

describe("parseArgs", () => {
  const accepted: Array<[string[], Partial<ReturnType<typeof parse>>]> = [
    [["hello", "world"], { words: ["hello", "world"] }],
    [["-", "TL;DR:"], { words: ["-", "TL;DR:"] }],
    [["--model", "m1", "hi"], { values: { model: "m1" }, words: ["hi"] }],
    [["--model=m1"], { values: { model: "m1" } }],
    [["-m", "m1"], { values: { model: "m1" } }],
    [["-mm1"], { values: { model: "m1" } }],
    [["-m=m1"], { values: { model: "m1" } }],
    [["--model", "a", "--model", "b"], { values: { model: "b" } }],
    [["--stop", "a", "-s", "b", "--stop=c"], { lists: { stop: ["a", "b", "c"] } }],
    [["--stop", "--"], { lists: { stop: ["--"] } }],
    [["--temperature", "-1"], { values: { temperature: "-1" } }],
    [["-t=-0.5"], { values: { temperature: "-0.5" } }],
    [["-vn40"], { flags: ["verbose"], values: { "max-tokens": "40" } }],
    [["--no-stream", "--no-stats"], { flags: ["no-stream", "no-stats"] }],
    [["--", "--help", "-x"], { words: ["--help", "-x"] }],
    [["a", "--", "-"], { words: ["a", "-"] }],
    [["--output", "out file.txt"], { values: { output: "out file.txt" } }],
    [["--stop="], { lists: { stop: [""] } }],
    // A typographic dash before a word that is no option name is prose.
    [["\u2014the", "end", "\u2014", "\u2013max-tokensy", "\u2014-"], { words: ["\u2014the", "end", "\u2014", "\u2013max-tokensy", "\u2014-"] }],
    [["--", "\u2014max-tokens", "3"], { words: ["\u2014max-tokens", "3"] }],
  ];
  for (const [argv, expected] of accepted) {
    it(`reads ${JSON.stringify(argv)}`, () => expect(parse(...argv)).toMatchObject(expected));
  }

  const refused: Array<[string[], RegExp]> = [
    [["--bogus"], /unknown option --bogus/],
    [["--stpo", "x"], /unknown option --stpo \(did you mean --stop\?\)/],
    [
      ["\u2014max-tokens", "3", "hi"],
      /^"\u2014max-tokens" starts with U\+2014, not "--" \(did you mean --max-tokens\?\); put a prompt that starts with it after "--"$/,
    ],
    [["hi", "\u2013model", "m"], /^"\u2013model" starts with U\+2013, not "--" \(did you mean --model\?\)/],
    [["\u2212\u2212no-stats", "hi"], /^"\u2212\u2212no-stats" starts with U\+2212, not "--" \(did you mean --no-stats\?\)/],
    [["\u2014temperature=0", "hi"], /^"\u2014temperature" starts with U\+2014.*did you mean --temperature\?/],
    [["\uFF0D\uFF0Decho"], /did you mean --echo\?/],
    [["-x"], /unknown option -x/],
    [["-5 degrees"], /unknown option -5/],
    [["--model"], /option --model needs a value \(KEY\)/],
    [["-m"], /option -m needs a value/],
    [["--no-stream=yes"], /option --no-stream takes no value/],
    [["--help=1"], /takes no value/],
  ];
  for (const [argv, message] of refused) {
    it(`refuses ${JSON.stringify(argv)}`, () => {
      expect(() => parseArgs(argv)).toThrow(UsageError);
      expect(() => parseArgs(argv)).toThrow(message);
    });
  }
});

describe("closestOption", () => {
  it.each([
    ["modle", "model"],
    ["max-token", "max-tokens"],
    ["temprature", "temperature"],
    ["nostream", "no-stream"],
    ["zzzzzz", undefined],
    ["x", undefined],
  ])("%s → %s", (typed, expected) => {
    expect(
      closestOption(typed, [
        { name: "model", kind: "value", description: "" },
        { name: "max-tokens", kind: "value", description: "" },
        { name: "temperature", kind: "value", description: "" },
        { name: "no-stream", kind: "flag", description: "" },
      ]),
    ).toBe(expected);
  });
});
