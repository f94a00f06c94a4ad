import { describe, expect, it } from "vitest";
import { parseArgs } from "../../src/args.js";
import { UsageError } from "../../src/errors.js";
import { resolveOptions, type Environment } from "../../src/options.js";

const resolve = (argv: string[], env: Environment = {}) => resolveOptions(parseArgs(argv), env);

describe("resolveOptions", () => {
  it("has quiet defaults", () => {
    expect(resolve(["hi"])).toEqual({
      action: "complete", words: ["hi"], model: undefined, maxTokens: undefined, stopStrings: [],
      temperature: undefined, host: undefined, timeoutSec: undefined, outputFile: undefined,
      stream: true, stats: true, rawStdin: false, verbose: false,
    });
  });

  const cases: Array<[string, string[], Environment, Record<string, unknown>]> = [
    ["flags", ["-m", "k", "-n", "40", "-t", "0.7", "--timeout", "2.5", "-s", ".", "-s", "\n"], {},
      { model: "k", maxTokens: 40, temperature: 0.7, timeoutSec: 2.5, stopStrings: [".", "\n"] }],
    ["environment", [], { LMC_MODEL: "e", LMC_MAX_TOKENS: "7", LMC_TEMPERATURE: "0", LMC_HOST: "localhost:1234", LMC_TIMEOUT: "9" },
      { model: "e", maxTokens: 7, temperature: 0, host: "ws://localhost:1234", timeoutSec: 9 }],
    ["flags win over the environment", ["-m", "flag", "-n", "3", "-H", "ws://h:1"], { LMC_MODEL: "env", LMC_MAX_TOKENS: "9", LMC_HOST: "ws://e:2" },
      { model: "flag", maxTokens: 3, host: "ws://h:1" }],
    ["an empty variable is unset", [], { LMC_MODEL: "", LMC_MAX_TOKENS: "" }, { model: undefined, maxTokens: undefined }],
    ["switches", ["--no-stream", "--no-stats", "--raw-stdin", "-v", "-o", "out.txt"], {},
      { stream: false, stats: false, rawStdin: true, verbose: true, outputFile: "out.txt" }],
    ["LMC_DEBUG", [], { LMC_DEBUG: "1" }, { verbose: true }],
    ["LMC_DEBUG=0", [], { LMC_DEBUG: "0" }, { verbose: false }],
    ["help wins", ["--version", "--help", "--bad-number-is-ignored-not"].slice(0, 2), {}, { action: "help" }],
    ["version", ["-V"], {}, { action: "version" }],
    ["exponent", ["-n", "1e3"], {}, { maxTokens: 1000 }],
  ];
  for (const [name, argv, env, expected] of cases) {
    it(name, () => expect(resolve(argv, env)).toMatchObject(expected));
  }

  const refused: Array<[string[], Environment, RegExp]> = [
    [["-n", "0"], {}, /--max-tokens must be a whole number >= 1, not "0"/],
    [["-n", "1.5"], {}, /--max-tokens must be a whole number/],
    [["-n", "ten"], {}, /--max-tokens must be a whole number/],
    [["-n", ""], {}, /--max-tokens must be/],
    [["-n", "0x10"], {}, /--max-tokens must be/],
    [[], { LMC_MAX_TOKENS: "-3" }, /LMC_MAX_TOKENS must be a whole number >= 1, not "-3"/],
    [["-t", "-1"], {}, /--temperature must be a number >= 0/],
    [["-t", "NaN"], {}, /--temperature must be a number/],
    [["-t", "Infinity"], {}, /--temperature must be a number/],
    [[], { LMC_TEMPERATURE: "hot" }, /LMC_TEMPERATURE must be a number/],
    [["--timeout", "0"], {}, /--timeout must be a number > 0/],
    [["-s", ""], {}, /--stop needs a non-empty string/],
    [["-m", " "], {}, /--model is empty/],
    [["-o", ""], {}, /--output needs a file name/],
    [["-H", "ftp://x"], {}, /--host must be a ws:\/\//],
    [[], { LMC_HOST: "ws://h:1/path" }, /LMC_HOST must be just scheme, host and port/],
  ];
  for (const [argv, env, message] of refused) {
    it(`refuses ${JSON.stringify(argv)} ${JSON.stringify(env)}`, () => {
      expect(() => resolve(argv, env)).toThrow(UsageError);
      expect(() => resolve(argv, env)).toThrow(message);
    });
  }
});
