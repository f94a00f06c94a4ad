import { describe, expect, it } from "vitest";
import { parseArgs } from "../../src/command-line/args.js";
import { UsageError } from "../../src/errors.js";
import { resolveOptions } from "../../src/command-line/resolve-options.js";
import type { Environment } from "../../src/io.js";

const resolve = (argv: string[], env: Environment = {}) => resolveOptions(parseArgs(argv), env);

describe("resolveOptions", () => {
  it("has quiet defaults", () => {
    expect(resolve(["hi"])).toEqual({
      action: "complete",
      words: ["hi"],
      model: undefined,
      stopStrings: [],
      prediction: {},
      load: { contextLength: undefined, gpu: undefined, seed: undefined },
      ttlSec: undefined,
      schema: undefined,
      hosts: [],
      localPorts: [1234, 41343, 52993, 16141, 39414, 22931],
      credentials: undefined,
      timeoutSec: undefined,
      idleTimeoutSec: 60,
      outputFile: undefined,
      echo: false,
      stream: true,
      stats: true,
      failOnTruncate: false,
      progress: undefined,
      reasoning: false,
      rawStdin: false,
      verbose: false,
    });
  });

  const cases: Array<[string, string[], Environment, Record<string, unknown>]> = [
    [
      "flags",
      ["-m", "k", "-n", "40", "-t", "0.7", "--timeout", "2.5", "-s", ".", "-s", "\n"],
      {},
      { model: "k", prediction: { maxTokens: 40, temperature: 0.7 }, timeoutSec: 2.5, stopStrings: [".", "\n"] },
    ],
    [
      "environment",
      [],
      { LMC_MODEL: "e", LMC_MAX_TOKENS: "7", LMC_TEMPERATURE: "0", LMC_HOST: "localhost:1234", LMC_TIMEOUT: "9" },
      { model: "e", prediction: { maxTokens: 7, temperature: 0 }, hosts: ["ws://localhost:1234"], timeoutSec: 9 },
    ],
    [
      "flags win over the environment",
      ["-m", "flag", "-n", "3", "-H", "ws://h:1"],
      { LMC_MODEL: "env", LMC_MAX_TOKENS: "9", LMC_HOST: "ws://e:2" },
      { model: "flag", prediction: { maxTokens: 3 }, hosts: ["ws://h:1"] },
    ],
    ["several hosts in batch mode", ["--each", "-H", "h:1", "--host", "h:2"], { LMC_HOST: "e:3" }, { hosts: ["ws://h:1", "ws://h:2"] }],
    ["LMC_HOST lists hosts with commas", ["--each"], { LMC_HOST: "h:1, h:2" }, { hosts: ["ws://h:1", "ws://h:2"] }],
    [
      "a host given twice, in any spelling, counts once",
      ["--each", "-H", "h:1", "-H", "ws://h:1", "-H", "http://h:1/", "-H", "h:2"],
      {},
      { hosts: ["ws://h:1", "ws://h:2"] },
    ],
    ["LMC_HOST too", ["--each"], { LMC_HOST: "h:1,ws://h:1" }, { hosts: ["ws://h:1"] }],
    [
      "a host without a port is LM Studio's 1234, and counts once with it",
      ["--each", "-H", "127.0.0.1", "-H", "127.0.0.1:1234", "-H", "http://127.0.0.1", "-H", "[::1]", "-H", "ws://[::1]:1234"],
      {},
      { hosts: ["ws://127.0.0.1:1234", "ws://[::1]:1234"] },
    ],
    [
      "each entry of LMC_HOST too",
      ["--each"],
      { LMC_HOST: "localhost, localhost:1234,wss://lm.example" },
      { hosts: ["ws://localhost:1234", "wss://lm.example:443"] },
    ],
    ["--idle-timeout", ["--each", "--idle-timeout", "2.5"], { LMC_IDLE_TIMEOUT: "9" }, { idleTimeoutSec: 2.5 }],
    ["LMC_IDLE_TIMEOUT", ["--each"], { LMC_IDLE_TIMEOUT: "9" }, { idleTimeoutSec: 9 }],
    ["--idle-timeout in a single run too", ["--idle-timeout", "5"], {}, { idleTimeoutSec: 5 }],
    ["an empty variable is unset", [], { LMC_MODEL: "", LMC_MAX_TOKENS: "" }, { model: undefined, prediction: {} }],
    [
      "switches",
      ["--no-stream", "--no-stats", "--raw-stdin", "-v", "-o", "out.txt"],
      {},
      { stream: false, stats: false, rawStdin: true, verbose: true, outputFile: "out.txt" },
    ],
    ["LMC_DEBUG", [], { LMC_DEBUG: "1" }, { verbose: true }],
    ["LMC_DEBUG=0", [], { LMC_DEBUG: "0" }, { verbose: false }],
    ["help wins over version", ["--version", "--help"], {}, { action: "help" }],
    ["version", ["-V"], {}, { action: "version" }],
    ["list", ["--list", "--json"], {}, { action: "list", json: true }],
    ["--progress", ["--progress"], {}, { progress: true }],
    ["--no-progress", ["--no-progress"], {}, { progress: false }],
    ["--reasoning", ["--reasoning"], {}, { reasoning: true }],
    ["--completion", ["--completion", "fish"], {}, { action: "completion", shell: "fish" }],
    ["--each", ["--each", "-P", "8"], {}, { action: "batch", batch: "lines", parallel: 8 }],
    ["--each --null", ["--each", "-0"], {}, { batch: "nul" }],
    ["--delimiter with escapes", ["--each", "-d", "\\0|\\n|\\t|\\\\|\\x"], {}, { delimiter: "\0|\n|\t|\\|\\x" }],
    ["--each-jsonl", ["--each-jsonl"], { LMC_PARALLEL: "2" }, { batch: "jsonl", parallel: 2 }],
    ["--each-file", ["--each-file", "a", "b"], {}, { batch: "files", words: ["a", "b"] }],
    ["exponent", ["-n", "1e3"], {}, { prediction: { maxTokens: 1000 } }],
    ["no token limit", ["-n", "off"], {}, { prediction: { maxTokens: false } }],
    [
      "sampling flags",
      ["--top-k", "40", "--top-p", "0.9", "--min-p", "off", "--repeat-penalty", "1.1"],
      {},
      { prediction: { topKSampling: 40, topPSampling: 0.9, minPSampling: false, repeatPenalty: 1.1 } },
    ],
    [
      "--option, with flags winning",
      ["--option", "topKSampling=5", "--option", "xtcProbability=0.5", "--top-k", "7"],
      {},
      { prediction: { topKSampling: 7, "llm.prediction.llama.xtcProbability": 0.5 } },
    ],
    ["--option keeps the last", ["--option", "cpuThreads=2", "--option", "cpuThreads=4"], {}, { prediction: { cpuThreads: 4 } }],
    ["--context-overflow", ["--context-overflow", "rolling-window"], {}, { prediction: { contextOverflowPolicy: "rollingWindow" } }],
    ["--draft-model", ["--draft-model", "small"], {}, { prediction: { draftModel: "small" } }],
    ["load settings", ["--context-length", "4096", "--gpu", "max", "--ttl", "300"], {}, { load: { contextLength: 4096, gpu: { ratio: "max" } }, ttlSec: 300 }],
    [
      "--seed is a prediction setting",
      ["--seed", "42", "--option", "xtcProbability=0.5"],
      {},
      { prediction: { "llm.prediction.llama.xtcProbability": 0.5, "llm.prediction.seed": 42 }, load: { seed: 42 } },
    ],
    ["seconds beyond a timer's reach are held at 24.8 days", ["--timeout", "1e99", "--ttl", "3000000"], {}, { timeoutSec: 2147483, ttlSec: 2147483 }],
    ["LMC_TIMEOUT=1e999 too", [], { LMC_TIMEOUT: "1e999" }, { timeoutSec: 2147483 }],
    ["LMC_LOCAL_PORTS", [], { LMC_LOCAL_PORTS: "5, 6" }, { localPorts: [5, 6] }],
    [
      "a token for a completion",
      [],
      { LM_API_TOKEN: "sk-lm-Ab3dEf7h:0123456789abcdefghij" },
      { credentials: { clientIdentifier: "Ab3dEf7h", clientPasskey: "0123456789abcdefghij" } },
    ],
    ["a malformed token does not break --help", ["--help"], { LM_API_TOKEN: "bad" }, { action: "help" }],
    ["nor --version", ["-V"], { LM_API_TOKEN: "bad" }, { action: "version" }],
    ["nor --completion", ["--completion", "bash"], { LM_API_TOKEN: "bad" }, { action: "completion" }],
    ["a GPU ratio", ["--gpu", "0.5"], {}, { load: { gpu: { ratio: 0.5 } } }],
    ["switches of issue 4", ["--echo", "--fail-on-truncate", "--schema", "s.json"], {}, { echo: true, failOnTruncate: true, schema: "s.json" }],
  ];
  for (const [name, argv, env, expected] of cases) {
    it(name, () => expect(resolve(argv, env)).toMatchObject(expected));
  }

  const refused: Array<[string[], Environment, RegExp]> = [
    [["-n", "0"], {}, /--max-tokens must be a whole number >= 1, or off, not "0"/],
    [["--top-p", "1.5"], {}, /--top-p must be a number >= 0 and <= 1, or off, not "1.5"/],
    [["--top-k", "-1"], {}, /--top-k must be a whole number >= 0/],
    [["--repeat-penalty", "0"], {}, /--repeat-penalty must be a number > 0/],
    [["--option", "bogus=1"], {}, /--option bogus: unknown setting "bogus"; known: temperature, maxTokens, /],
    [["--option", "cpuThreads"], {}, /--option takes KEY=VALUE, not "cpuThreads"/],
    [["--option", "=1"], {}, /--option takes KEY=VALUE/],
    [["--option", "cpuThreads=0"], {}, /--option cpuThreads must be a whole number >= 1, not "0"/],
    [["--option", "contextOverflowPolicy=drop"], {}, /must be one of stopAtLimit, truncateMiddle, rollingWindow/],
    [["--context-overflow", "drop"], {}, /--context-overflow must be one of stop, truncate-middle, rolling-window, not "drop"/],
    [["--gpu", "most"], {}, /--gpu must be off, max or a ratio from 0 to 1, not "most"/],
    [["--gpu", "2"], {}, /--gpu must be off, max or a ratio/],
    [["--context-length", "0"], {}, /--context-length must be a whole number >= 1/],
    [["--seed", "1.5"], {}, /--seed must be a whole number >= 0/],
    [["--ttl", "0"], {}, /--ttl must be a whole number > 0/],
    [["--ttl", "1.0001"], {}, /--ttl must be a whole number > 0/],
    [["--schema", " "], {}, /--schema needs a file name or JSON/],
    [["--json", "hi"], {}, /--json goes with --list/],
    [["--all", "hi"], {}, /--all goes with --help/],
    [["-H", "h:1", "-H", "h:2", "hi"], {}, /several LM Studio hosts need batch mode/],
    [["--completion", "tcsh"], {}, /--completion takes bash, zsh, fish, not "tcsh"/],
    [["--draft-model", ""], {}, /--draft-model must be a model key/],
    [["--draft-model", "a\tb"], {}, /--draft-model must be a model key: 1 to 1024 characters, with no control characters, not "a\\tb"/],
    [["--option", "draftModel=a\u0085b"], {}, /--option draftModel must be a model key/],
    [["-m", "lmc\ntiny"], {}, /--model must be a model key: 1 to 1024 characters, with no control characters, not "lmc\\ntiny"/],
    [[], { LMC_MODEL: "a\u001b[2Jb" }, /LMC_MODEL must be a model key/],
    [["-m", "x".repeat(1025)], {}, /--model must be a model key/],
    [["-m", "__proto__"], {}, /--model must be a model key/],
    // Keys that name members of Object.prototype are unknown keys like any other, never a crash.
    ...["__proto__", "constructor", "hasOwnProperty", "toString", "valueOf"].map((key): [string[], Environment, RegExp] => [
      ["--option", `${key}=1`],
      {},
      new RegExp(`--option ${key}: unknown setting "${key}"; known: temperature, maxTokens, `),
    ]),
    [["--context-overflow", "constructor"], {}, /--context-overflow must be one of stop, truncate-middle, rolling-window, not "constructor"/],
    [["--context-overflow", "__proto__"], {}, /--context-overflow must be one of stop, truncate-middle/],
    [["--top-k", "501"], {}, /--top-k must be a whole number >= 0 and <= 500/],
    [["--option", "logProbs=101"], {}, /--option logProbs must be a whole number >= 0 and <= 100, or off/],
    [["hi"], { LM_API_TOKEN: "bad" }, /LM_API_TOKEN does not look like an LM Studio API token/],
    [["--list"], { LM_API_TOKEN: "bad" }, /LM_API_TOKEN does not look like/],
    [["--each"], { LM_API_TOKEN: "bad" }, /LM_API_TOKEN does not look like/],
    [[], { LMC_LOCAL_PORTS: "1234,x" }, /LMC_LOCAL_PORTS must be ports separated by commas/],
    [[], { LMC_LOCAL_PORTS: "70000" }, /LMC_LOCAL_PORTS must be ports/],
    [[], { LMC_LOCAL_PORTS: "1e3" }, /LMC_LOCAL_PORTS must be ports/],
    [[], { LMC_LOCAL_PORTS: "0x4d2" }, /LMC_LOCAL_PORTS must be ports/],
    [["--timeout", "1e-999"], {}, /--timeout must be a number > 0/],
    [["-n", "1.5"], {}, /--max-tokens must be a whole number/],
    [["-n", "ten"], {}, /--max-tokens must be a whole number/],
    [["-n", ""], {}, /--max-tokens must be/],
    [["-n", "0x10"], {}, /--max-tokens must be/],
    [[], { LMC_MAX_TOKENS: "-3" }, /LMC_MAX_TOKENS must be a whole number >= 1, or off, not "-3"/],
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
