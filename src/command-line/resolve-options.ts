// Turns the parsed command line and the environment into what a run needs.
// Pure: flags win over the environment, and every value is checked here, so
// that nothing reaches LM Studio before the whole command line is known good.

import type { ParsedArgs } from "./args.js";
import { shells, type Shell } from "./shell-completion.js";
import { UsageError } from "../errors.js";
import type { Environment } from "../io.js";
import { localPorts } from "../lmstudio/discovery.js";
import { normalizeHost } from "./host-address.js";
import { flagSettings, optionSettings, optionSpecs, predictionKey, settings } from "./option-table.js";
import { envFlag } from "../lib/env-flag.js";
import { EscapeError, parseEscapes } from "../lib/escapes.js";
import { parseStopString } from "./stop-strings.js";
import { parseApiToken } from "../lmstudio/api-token.js";
import { checkValue, type Setting } from "./setting-types.js";
import type { Action, BatchInput, Options, PredictionOptions, ServerOptions, StatsDestination } from "./options.js";

/**
 * A live host sends load or prompt progress, or text, well within a minute, even
 * while it loads a large model or reads a long prompt; one silent for longer is gone.
 */
const DEFAULT_IDLE_TIMEOUT_SEC = 60;

/** The environment variable that gives each option's default, from the option table. */
const environmentDefaults = new Map(optionSpecs.flatMap((spec) => (spec.env ? [[spec.name, spec.env] as const] : [])));

/** Every value is checked, whatever the action, in the same order, so a bad one is refused even with --help. */
export function resolveOptions(args: ParsedArgs, env: Environment): Options {
  const batch = batchInput(args);
  const chosen = chooseAction(args, batch, completionShell(args));
  const action = chosen.action;
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
  const gpu = given.checked(settings.gpu);
  const parallel = given.checked(settings.parallel) ?? 4;
  const resumeFile = args.values.get("resume");
  const delimiter = parseDelimiter(args.values.get("delimiter"));
  const stopStrings = checkStopStrings(args.lists.get("stop") ?? []);
  const system = systemPrompt(args);
  const load = {
    contextLength: given.checked(settings.contextLength),
    gpu: gpu === undefined ? undefined : { ratio: gpu },
    // LM Studio takes the seed in the load configuration too (prediction has it already checked).
    seed: given.checked(settings.seed),
  };
  const ttlSec = given.checked(settings.ttl);
  const ports = parseLocalPorts(env.LMC_LOCAL_PORTS);
  // Only a run that talks to LM Studio needs the token: a bad one must not break --help.
  const credentials = talksToLmStudio.has(action) ? parseApiToken(env.LM_API_TOKEN) : undefined;
  const timeoutSec = given.checked(settings.timeout);
  const idleTimeoutSec = given.checked(settings.idleTimeout) ?? DEFAULT_IDLE_TIMEOUT_SEC;
  const progress = args.flags.has("no-progress") ? false : args.flags.has("progress") ? true : undefined;
  const verbose = args.flags.has("verbose") || envFlag(env.LMC_DEBUG);

  const server: ServerOptions = { hosts, localPorts: ports, credentials, timeoutSec, idleTimeoutSec, verbose };
  const asked: PredictionOptions = {
    words: args.words,
    model,
    stopStrings,
    prediction,
    load,
    ttlSec,
    chat: args.flags.has("chat"),
    ...system,
    echo: args.flags.has("echo"),
    countTokens: args.flags.has("count-tokens"),
    failOnTruncate: args.flags.has("fail-on-truncate"),
    stats: statsDestination(args, env),
    progress,
    reasoning: args.flags.has("reasoning"),
  };
  switch (chosen.action) {
    case "help":
      return { action: "help", helpAll: args.flags.has("all"), verbose };
    case "version":
      return { action: "version", verbose };
    case "completion":
      return { action: "completion", shell: chosen.shell, verbose };
    case "list":
      return { action: "list", ...server, json: args.flags.has("json") };
    case "complete":
      return {
        action: "complete",
        ...server,
        ...asked,
        schema,
        outputFile: output,
        stream: !args.flags.has("no-stream"),
        rawStdin: args.flags.has("raw-stdin"),
        showPrompt: args.flags.has("show-prompt"),
      };
    case "batch":
      return { action: "batch", ...server, ...asked, batch: chosen.batch, parallel, delimiter, resumeFile, outputFile: output };
  }
}

/** The action, with what only it has: the shell of --completion, batch mode's input. */
type Chosen = { action: "help" | "version" | "list" | "complete" } | { action: "completion"; shell: Shell } | { action: "batch"; batch: BatchInput };

/** What the run does: the first of these flags that is given decides; a completion when none is. */
function chooseAction(args: ParsedArgs, batch: BatchInput | undefined, shell: Shell | undefined): Chosen {
  if (args.flags.has("help")) return { action: "help" };
  if (args.flags.has("version")) return { action: "version" };
  if (shell) return { action: "completion", shell };
  if (args.flags.has("list")) return { action: "list" };
  return batch ? { action: "batch", batch } : { action: "complete" };
}

function completionShell(args: ParsedArgs): Shell | undefined {
  const shell = args.values.get("completion");
  if (shell === undefined) return undefined;
  const known = shells.find((name) => name === shell);
  if (!known) throw new UsageError(`--completion takes ${shells.join(", ")}, not "${shell}"`);
  return known;
}

/** Flags that only mean something with another. */
function checkFlagsGoWith(args: ParsedArgs, action: Action): void {
  if (args.flags.has("json") && action !== "list") throw new UsageError("--json goes with --list");
  if (args.flags.has("all") && action !== "help") throw new UsageError("--all goes with --help");
  // Batch items cannot carry a schema (yet): refused rather than silently dropped.
  if (args.values.has("schema") && action === "batch") throw new UsageError("--schema goes with a single completion, not batch mode");
  if (args.flags.has("show-prompt") && action === "batch") throw new UsageError("--show-prompt goes with a single completion, not batch mode");
  // It writes to stdout what it shows; -o is for a completion, which it does not make.
  if (args.flags.has("show-prompt") && args.values.has("output")) throw new UsageError("--show-prompt writes to stdout, so it cannot go with --output");
  if (args.flags.has("count-tokens") && (action === "list" || action === "completion")) throw new UsageError("--count-tokens goes with a prompt or batch mode");
  // --count-tokens writes JSON Lines; the completions alone (-d) would be nothing.
  if (args.flags.has("count-tokens") && args.values.has("delimiter"))
    throw new UsageError("--count-tokens writes JSON lines, so it cannot go with --delimiter");
  if (args.flags.has("show-prompt") && args.flags.has("count-tokens"))
    throw new UsageError("--show-prompt and --count-tokens cannot go together: each writes something else instead of a completion");
  if (args.flags.has("progress") && args.flags.has("no-progress")) throw new UsageError("--progress and --no-progress contradict each other");
}

interface SettingsGiven {
  /** The flag's value, else its environment variable's (an empty variable counts as unset), and where it came from. */
  value(name: string): { value: string; source: string } | undefined;
  /** The value of a setting's flag or variable, checked and parsed by its type. */
  checked<T>(setting: { name: string; type: Setting<T> }): T | undefined;
}

function settingsGiven(args: ParsedArgs, env: Environment): SettingsGiven {
  const value = (name: string) => {
    const flag = args.values.get(name);
    if (flag !== undefined) return { value: flag, source: `--${name}` };
    const envName = environmentDefaults.get(name);
    const fromEnv = envName ? env[envName] : undefined;
    return fromEnv && envName ? { value: fromEnv, source: envName } : undefined;
  };
  const checked = <T>({ name, type }: { name: string; type: Setting<T> }) => {
    const given = value(name);
    return given ? checkValue(type, given.value, given.source) : undefined;
  };
  return { value, checked };
}

function modelKey(given: SettingsGiven): string | undefined {
  const model = given.value(settings.model.name);
  if (model && model.value.trim() === "") throw new UsageError(`${model.source} is empty`);
  if (model) checkValue(settings.model.type, model.value, model.source);
  return model?.value;
}

/** --option pairs, then the flags of prediction settings (which win), in --help's order. */
function predictionSettings(args: ParsedArgs, given: SettingsGiven): Record<string, unknown> {
  const prediction = parseOptionPairs(args.lists.get("option") ?? []);
  for (const setting of flagSettings) {
    const flag = given.value(setting.name);
    if (flag)
      prediction[predictionKey(setting)] = setting.flagWords
        ? fromWords(setting.flagWords, flag.value, flag.source)
        : checkValue(setting.type, flag.value, flag.source);
  }
  return prediction;
}

/** A value of a flag that takes words for the SDK's values (--context-overflow). */
function fromWords(words: Readonly<Record<string, unknown>>, word: string, source: string): unknown {
  const value = words[word];
  if (value === undefined) throw new UsageError(`${source} must be one of ${Object.keys(words).join(", ")}, not "${word}"`);
  return value;
}

/**
 * `--option KEY=VALUE` pairs as settings, in order (a later one wins). Only keys of
 * the option table are ever set, so "__proto__" can never become a prototype.
 */
function parseOptionPairs(pairs: readonly string[]): Record<string, unknown> {
  const prediction: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--option takes KEY=VALUE, not "${pair}"`);
    const key = pair.slice(0, eq);
    const source = `--option ${key}`;
    const setting = optionSettings[key];
    if (!setting) throw new UsageError(`${source}: unknown setting "${key}"; known: ${Object.keys(optionSettings).join(", ")}`);
    prediction[predictionKey(setting)] = checkValue(setting.type, pair.slice(eq + 1), source);
  }
  return prediction;
}

/**
 * Where the stats go. Flags win over the environment; the two flags together
 * contradict each other; LMC_NO_STATS wins over LMC_STATS_FILE (it is the off switch).
 */
function statsDestination(args: ParsedArgs, env: Environment): StatsDestination {
  const file = args.values.get("stats-file");
  if (file !== undefined) {
    if (args.flags.has("no-stats")) throw new UsageError("--stats-file and --no-stats contradict each other");
    if (file === "") throw new UsageError("--stats-file needs a file name");
    return { file };
  }
  if (args.flags.has("no-stats") || envFlag(env.LMC_NO_STATS)) return false;
  // An empty variable counts as unset, as for every LMC_ variable.
  return env.LMC_STATS_FILE ? { file: env.LMC_STATS_FILE } : "stderr";
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

/** --delimiter's value with its escapes (\0, \n, \t, \\) turned into the characters. */
function parseDelimiter(text: string | undefined): string | undefined {
  return text === undefined ? undefined : unescaped(parseEscapes, text, "--delimiter");
}

/** A value read by `parse`, or a usage error that names the value and what is wrong with its escapes. */
function unescaped(parse: (text: string) => string, text: string, source: string): string {
  try {
    return parse(text);
  } catch (error) {
    if (error instanceof EscapeError) throw new UsageError(`${source} ${JSON.stringify(text)} ${error.message}`);
    throw error;
  }
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
function batchInput(args: ParsedArgs): BatchInput | undefined {
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

/** --system or --system-file, which only --chat formats into a message. */
function systemPrompt(args: ParsedArgs): { system?: string; systemFile?: string } {
  const text = args.values.get("system");
  const file = args.values.get("system-file");
  if (text !== undefined && file !== undefined) throw new UsageError("--system and --system-file cannot go together");
  const given = text !== undefined ? "--system" : file !== undefined ? "--system-file" : undefined;
  if (given && !args.flags.has("chat")) throw new UsageError(`${given} goes with --chat (a system message is part of a chat)`);
  if (text !== undefined) return { system: checkValue(settings.system.type, text, "--system") };
  if (file === "") throw new UsageError("--system-file needs a file name");
  return file === undefined ? {} : { systemFile: file };
}

/** --stop's values, their escapes read: `--stop '\n'` stops at the end of the line. */
function checkStopStrings(stops: string[]): string[] {
  return stops.map((stop) => {
    if (stop === "") throw new UsageError("--stop needs a non-empty string");
    return unescaped(parseStopString, stop, "--stop");
  });
}
