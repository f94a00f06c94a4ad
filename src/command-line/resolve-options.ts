// command-line/: from argv and the environment to checked run options; the option
// table (option-table.ts) is the one declaration that parser, help and completions read.
//
// Turns the parsed command line and the environment into what a run needs.
// Pure: flags win over the environment, and every value is checked here, so
// that nothing reaches LM Studio before the whole command line is known good.

import type { ParsedArgs } from "./args.js";
import { shells, type Shell } from "./shell-completion.js";
import { UsageError } from "../errors.js";
import type { Environment } from "../io.js";
import { localPorts } from "../lmstudio/discovery.js";
import { normalizeHost } from "./host-address.js";
import { optionSpecs } from "./option-table.js";
import { envFlag } from "../lib/env-flag.js";
import { lookupTable } from "../lookup-table.js";
import { parseApiToken, type Credentials } from "../lmstudio/api-token.js";
import type { LoadSettings } from "../lmstudio/session.js";
import {
  checkValue,
  modelKeySetting,
  numberSetting,
  overflowPolicies,
  parseOptionPairs,
  parseSetting,
  secondsSetting,
  type Setting,
} from "./prediction-settings.js";

export interface RunOptions {
  action: "help" | "version" | "completion" | "list" | "batch" | "complete";
  /** Batch mode: where the items come from. */
  batch?: "lines" | "nul" | "jsonl" | "files" | "file-names" | "file-names-nul";
  parallel: number;
  /** Batch: the completions alone, each followed by this, instead of JSON Lines. */
  delimiter?: string;
  /** --resume: an earlier batch output whose completed items are skipped. */
  resumeFile?: string;
  /** --completion's shell. */
  shell?: Shell;
  /** --list --json */
  json: boolean;
  /** --help --all */
  helpAll: boolean;
  /** Prompt words; "-" stands for stdin. */
  words: string[];
  model?: string;
  stopStrings: string[];
  /** Prediction settings by their SDK names (LLMPredictionConfigInput), and `seed`, all checked. */
  prediction: Record<string, unknown>;
  load: LoadSettings;
  ttlSec?: number;
  /** --schema's argument: a file name or inline JSON, read when the run starts. */
  schema?: string;
  /** Websocket URLs; none: look for the local server. Several only in batch mode. */
  hosts: string[];
  /** The 127.0.0.1 ports where the local server is looked for when no host is given. */
  localPorts: readonly number[];
  /** From LM_API_TOKEN, for servers that require a token. */
  credentials?: Credentials;
  timeoutSec?: number;
  /** Batch: how long a host may stay silent while items wait on it. */
  idleTimeoutSec: number;
  outputFile?: string;
  echo: boolean;
  stream: boolean;
  stats: boolean;
  failOnTruncate: boolean;
  /** true or false when forced by a flag; undefined: only on a terminal. */
  progress?: boolean;
  /** Show reasoning fragments on stderr. */
  reasoning: boolean;
  rawStdin: boolean;
  verbose: boolean;
}

/**
 * A live host sends load or prompt progress, or text, well within a minute, even
 * while it loads a large model or reads a long prompt; one silent for longer is gone.
 */
const DEFAULT_IDLE_TIMEOUT_SEC = 60;

const wholeNumber = (min: number) => numberSetting(min, Infinity, { integer: true });
const gpuRatio: Setting = {
  accepts: "off, max or a ratio from 0 to 1",
  parse: (text) => (text === "off" || text === "max" ? text : numberSetting(0, 1).parse(text)),
};

/** Dedicated flags for prediction settings, by flag name. */
const predictionFlags = lookupTable({
  "max-tokens": "maxTokens",
  temperature: "temperature",
  "top-k": "topKSampling",
  "top-p": "topPSampling",
  "min-p": "minPSampling",
  "repeat-penalty": "repeatPenalty",
  "draft-model": "draftModel",
});

/** The environment variable that gives each option's default, from the option table. */
const environmentDefaults = new Map(optionSpecs.flatMap((spec) => (spec.env ? [[spec.name, spec.env] as const] : [])));

type Action = RunOptions["action"];

export function resolveOptions(args: ParsedArgs, env: Environment): RunOptions {
  const batch = batchInput(args);
  const action = chooseAction(args, batch);
  const shell = completionShell(args);
  checkFlagsGoWith(args, action);
  const given = settingsGiven(args, env);
  const model = modelKey(given);
  const hosts = resolveHosts(args, env);
  if (hosts.length > 1 && !batch) throw new UsageError("several LM Studio hosts need batch mode (--each, --each-jsonl or --each-file)");
  const output = args.values.get("output");
  if (output === "") throw new UsageError("--output needs a file name");
  const schema = args.values.get("schema");
  if (schema !== undefined && schema.trim() === "") throw new UsageError("--schema needs a file name or JSON");
  const prediction = predictionSettings(args, given);
  const gpu = given.checked("gpu", gpuRatio) as number | "max" | "off" | undefined;

  return {
    action,
    batch,
    parallel: (given.checked("parallel", wholeNumber(1)) as number | undefined) ?? 4,
    resumeFile: args.values.get("resume"),
    delimiter: parseDelimiter(args.values.get("delimiter")),
    shell,
    json: args.flags.has("json"),
    helpAll: args.flags.has("all"),
    words: args.words,
    model,
    stopStrings: checkStopStrings(args.lists.get("stop") ?? []),
    prediction,
    load: {
      contextLength: given.checked("context-length", wholeNumber(1)) as number | undefined,
      gpu: gpu === undefined ? undefined : { ratio: gpu },
    },
    ttlSec: given.checked("ttl", secondsSetting({ whole: true })) as number | undefined,
    schema,
    hosts,
    localPorts: parseLocalPorts(env.LMC_LOCAL_PORTS),
    // Only a run that talks to LM Studio needs the token: a bad one must not break --help.
    credentials: talksToLmStudio.has(action) ? parseApiToken(env.LM_API_TOKEN) : undefined,
    timeoutSec: given.checked("timeout", secondsSetting()) as number | undefined,
    idleTimeoutSec: (given.checked("idle-timeout", secondsSetting()) as number | undefined) ?? DEFAULT_IDLE_TIMEOUT_SEC,
    outputFile: output,
    echo: args.flags.has("echo"),
    stream: !args.flags.has("no-stream"),
    stats: !args.flags.has("no-stats"),
    failOnTruncate: args.flags.has("fail-on-truncate"),
    progress: args.flags.has("no-progress") ? false : args.flags.has("progress") ? true : undefined,
    reasoning: args.flags.has("reasoning"),
    rawStdin: args.flags.has("raw-stdin"),
    verbose: args.flags.has("verbose") || envFlag(env.LMC_DEBUG),
  };
}

/** What the run does: the first of these flags that is given decides; a completion when none is. */
function chooseAction(args: ParsedArgs, batch: RunOptions["batch"]): Action {
  if (args.flags.has("help")) return "help";
  if (args.flags.has("version")) return "version";
  if (args.values.has("completion")) return "completion";
  if (args.flags.has("list")) return "list";
  return batch ? "batch" : "complete";
}

function completionShell(args: ParsedArgs): Shell | undefined {
  const shell = args.values.get("completion");
  if (shell !== undefined && !(shells as readonly string[]).includes(shell)) {
    throw new UsageError(`--completion takes ${shells.join(", ")}, not "${shell}"`);
  }
  return shell as Shell | undefined;
}

/** Flags that only mean something with another. */
function checkFlagsGoWith(args: ParsedArgs, action: Action): void {
  if (args.flags.has("json") && action !== "list") throw new UsageError("--json goes with --list");
  if (args.flags.has("all") && action !== "help") throw new UsageError("--all goes with --help");
  if (args.flags.has("progress") && args.flags.has("no-progress")) throw new UsageError("--progress and --no-progress contradict each other");
}

interface SettingsGiven {
  /** The flag's value, else its environment variable's (an empty variable counts as unset), and where it came from. */
  value(name: string): { value: string; source: string } | undefined;
  /** That value, checked and parsed by `rule`. */
  checked(name: string, rule: Setting): unknown;
}

function settingsGiven(args: ParsedArgs, env: Environment): SettingsGiven {
  const value = (name: string) => {
    const flag = args.values.get(name);
    if (flag !== undefined) return { value: flag, source: `--${name}` };
    const envName = environmentDefaults.get(name);
    const fromEnv = envName ? env[envName] : undefined;
    return fromEnv && envName ? { value: fromEnv, source: envName } : undefined;
  };
  const checked = (name: string, rule: Setting) => {
    const given = value(name);
    return given ? checkValue(rule, given.value, given.source) : undefined;
  };
  return { value, checked };
}

function modelKey(given: SettingsGiven): string | undefined {
  const model = given.value("model");
  if (model && model.value.trim() === "") throw new UsageError(`${model.source} is empty`);
  if (model) checkValue(modelKeySetting, model.value, model.source);
  return model?.value;
}

/** --option pairs, then the dedicated flags (which win), --context-overflow and --seed. */
function predictionSettings(args: ParsedArgs, given: SettingsGiven): Record<string, unknown> {
  const prediction = parseOptionPairs(args.lists.get("option") ?? []);
  for (const [flag, key] of Object.entries(predictionFlags)) {
    const setting = given.value(flag);
    if (setting) prediction[key] = parseSetting(key, setting.value, setting.source);
  }
  const overflow = args.values.get("context-overflow");
  if (overflow !== undefined) {
    const policy = overflowPolicies[overflow];
    if (!policy) throw new UsageError(`--context-overflow must be one of ${Object.keys(overflowPolicies).join(", ")}, not "${overflow}"`);
    prediction.contextOverflowPolicy = policy;
  }
  const seed = given.checked("seed", wholeNumber(0));
  if (seed !== undefined) prediction.seed = seed;
  return prediction;
}

const talksToLmStudio = new Set<Action>(["list", "batch", "complete"]);

/** LMC_LOCAL_PORTS: where to look for the local server instead of the usual ports (tests use it). */
function parseLocalPorts(text: string | undefined): readonly number[] {
  if (!text) return localPorts;
  const words = text.split(",").map((port) => port.trim());
  const ports = words.map(Number);
  // Decimal digits only: Number() would also take 1e3 and 0x4d2 as ports 1000 and 1234.
  if (!words.every((word) => /^\d{1,5}$/.test(word)) || !ports.every((port) => port >= 1 && port <= 65535)) {
    throw new UsageError(`LMC_LOCAL_PORTS must be ports separated by commas, like 1234,41343, not ${JSON.stringify(text)}`);
  }
  return ports;
}

/** --delimiter's value with the escapes \0, \n, \t and \\ turned into the characters. */
function parseDelimiter(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const escapes = lookupTable({ "0": "\0", n: "\n", t: "\t", "\\": "\\" });
  return text.replace(/\\(.)/g, (match, letter: string) => escapes[letter] ?? match);
}

/**
 * --host, repeatable, else LMC_HOST, which may list several separated by commas.
 * A host given twice (as ws://, http:// or host:port alike) counts once.
 */
function resolveHosts(args: ParsedArgs, env: Environment): string[] {
  const flags = args.lists.get("host");
  if (flags) return unique(flags.map((value) => normalizeHost(value, "--host")));
  if (!env.LMC_HOST) return [];
  return unique(env.LMC_HOST.split(",").map((value) => normalizeHost(value, "LMC_HOST")));
}

const unique = (values: string[]) => [...new Set(values)];

/** Which batch input the flags ask for, if any; two at once is a usage error. */
function batchInput(args: ParsedArgs): RunOptions["batch"] {
  const modes = ["each", "each-jsonl", "each-file"].filter((flag) => args.flags.has(flag));
  if (modes.length > 1) throw new UsageError(`--${modes[0]} and --${modes[1]} cannot go together`);
  const namesOnStdin = modes[0] === "each-file" && args.words.length === 0;
  if (args.flags.has("null") && modes[0] !== "each" && !namesOnStdin) {
    throw new UsageError("--null goes with --each, or --each-file with the file names on stdin");
  }
  if (args.values.has("resume") && args.values.has("delimiter")) {
    throw new UsageError("--resume reads JSON Lines output, so it cannot go with --delimiter");
  }
  for (const option of ["parallel", "resume", "delimiter"]) {
    if (args.values.has(option) && modes.length === 0) throw new UsageError(`--${option} goes with --each, --each-jsonl or --each-file`);
  }
  switch (modes[0]) {
    case "each":
      return args.flags.has("null") ? "nul" : "lines";
    case "each-jsonl":
      return "jsonl";
    case "each-file":
      if (!namesOnStdin) return "files";
      return args.flags.has("null") ? "file-names-nul" : "file-names";
    default:
      return undefined;
  }
}

function checkStopStrings(stops: string[]): string[] {
  if (stops.includes("")) throw new UsageError("--stop needs a non-empty string");
  return stops;
}
