// The one declaration of lmc's command line. The parser, --help, the shell
// completions, --option, JSON Lines items and the docs tests all read this table,
// so they cannot drift apart. Each setting is one row of `settings`; the command
// line (`optionSpecs`) lists, in --help's order, the settings that have a flag and
// the options that are not settings.

import { lookupTable } from "../lib/lookup-table.js";
import {
  gpuRatio,
  modelKeySetting,
  numberSetting,
  oneOf,
  orOff,
  secondsSetting,
  textSetting,
  trueOrFalse,
  wholeNumber,
  type Setting,
} from "./setting-types.js";

type OptionKind =
  /** Takes a value. */
  | "value"
  /** Takes a value and may be given many times; order is kept. */
  | "list"
  /** Takes no value. */
  | "flag";

/** An option of the command line. */
export interface OptionSpec {
  /** The long name, as typed after `--`. */
  name: string;
  /** One letter, as typed after `-`. */
  short?: string;
  kind: OptionKind;
  /** What the value looks like, for help: KEY, N, URL… */
  hint?: string;
  description: string;
  /** The environment variable that gives the default. */
  env?: string;
  /** Shown in the short --help; every option is in --help --all and the man page. */
  common?: true;
}

/** A value lmc checks, by its type, before anything reaches LM Studio. */
export interface SettingSpec<T> {
  type: Setting<T>;
  /**
   * Its name among the prediction settings, as LM Studio's SDK names it
   * (LLMPredictionConfigInput); `--option KEY=VALUE` takes it by this name.
   */
  key?: string;
  /**
   * For the settings SDK 1.5's complete() silently drops (its option schema lacks
   * them) although LM Studio knows them: the configuration key LM Studio reads. The
   * prediction settings carry them by this key, and the session sends them as raw fields.
   */
  raw?: string;
  /** Its field in an item of --each-jsonl. */
  jsonl?: string;
  /** Not for --option (--seed is the one way to give a seed). */
  option?: false;
  /** The words the flag takes for the values, when they are not the SDK's. */
  flagWords?: Readonly<Record<string, T>>;
}

/** --context-overflow's words, as the SDK names the policies. */
export const overflowPolicies = lookupTable({
  stop: "stopAtLimit",
  "truncate-middle": "truncateMiddle",
  "rolling-window": "rollingWindow",
} as const);

/** Every setting, one row each; those --option takes in the order it lists them. */
export const settings = {
  temperature: {
    name: "temperature",
    common: true,
    short: "t",
    kind: "value",
    hint: "X",
    env: "LMC_TEMPERATURE",
    description: "sampling temperature, 0 for greedy",
    key: "temperature",
    jsonl: "temperature",
    type: numberSetting(0),
  },
  maxTokens: {
    name: "max-tokens",
    common: true,
    short: "n",
    kind: "value",
    hint: "N",
    env: "LMC_MAX_TOKENS",
    description: "stop after N predicted tokens (off: no limit)",
    key: "maxTokens",
    jsonl: "maxTokens",
    type: orOff(wholeNumber(1)),
  },
  // The upper bounds are those of LM Studio's configuration schema, which refuses more.
  topK: {
    name: "top-k",
    kind: "value",
    hint: "N",
    description: "sample from the N likeliest tokens",
    key: "topKSampling",
    jsonl: "topK",
    type: numberSetting(0, 500, { integer: true }),
  },
  topP: {
    name: "top-p",
    kind: "value",
    hint: "P",
    description: "sample from the likeliest tokens whose probabilities add up to P (0-1, or off)",
    key: "topPSampling",
    jsonl: "topP",
    type: orOff(numberSetting(0, 1)),
  },
  minP: {
    name: "min-p",
    kind: "value",
    hint: "P",
    description: "leave out tokens less likely than P times the likeliest (0-1, or off)",
    key: "minPSampling",
    jsonl: "minP",
    type: orOff(numberSetting(0, 1)),
  },
  repeatPenalty: {
    name: "repeat-penalty",
    kind: "value",
    hint: "X",
    description: "penalise repeated tokens (1 or off: none)",
    key: "repeatPenalty",
    jsonl: "repeatPenalty",
    type: orOff(numberSetting(0, Infinity, { exclusiveMin: true })),
  },
  xtcProbability: { key: "xtcProbability", raw: "llm.prediction.llama.xtcProbability", type: orOff(numberSetting(0, 1)) },
  xtcThreshold: { key: "xtcThreshold", raw: "llm.prediction.llama.xtcThreshold", type: orOff(numberSetting(0, 0.5)) },
  logProbs: { key: "logProbs", raw: "llm.prediction.logProbs", type: orOff(numberSetting(0, 100, { integer: true })) },
  cpuThreads: { key: "cpuThreads", type: wholeNumber(1) },
  contextOverflow: {
    name: "context-overflow",
    kind: "value",
    hint: "POLICY",
    description:
      "when the context is full: stop, truncate-middle or rolling-window; unless LM Studio may cut it, a prompt that leaves no room is refused before it is sent (exit 1)",
    key: "contextOverflowPolicy",
    type: oneOf("stopAtLimit", "truncateMiddle", "rollingWindow"),
    flagWords: overflowPolicies,
  },
  draftModel: {
    name: "draft-model",
    kind: "value",
    hint: "KEY",
    description: "speculative decoding with this draft model",
    key: "draftModel",
    type: modelKeySetting,
  },
  draftTokens: { key: "speculativeDecodingNumDraftTokensExact", type: wholeNumber(1) },
  minDraftLength: { key: "speculativeDecodingMinDraftLengthToConsider", type: wholeNumber(0) },
  minDraftProbability: { key: "speculativeDecodingMinContinueDraftingProbability", type: numberSetting(0, 1) },
  seed: {
    name: "seed",
    kind: "value",
    hint: "N",
    description: "random seed, for repeatable sampling",
    key: "seed",
    raw: "llm.prediction.seed",
    option: false,
    type: wholeNumber(0),
  },
  model: {
    name: "model",
    common: true,
    short: "m",
    kind: "value",
    hint: "KEY",
    env: "LMC_MODEL",
    description: "model to use; loaded just in time if it is downloaded but not loaded (default: the model already loaded)",
    jsonl: "model",
    type: modelKeySetting,
  },
  // Not prediction settings: they make the prompt that is sent (src/prediction/chat-prompt.ts).
  chat: {
    name: "chat",
    common: true,
    short: "c",
    kind: "flag",
    description:
      "format the prompt as one user message with the model's own prompt template (for instruct models), then complete it; batch mode: every item, unless a JSON Lines item's \"chat\" says otherwise",
    jsonl: "chat",
    type: trueOrFalse,
  },
  system: {
    name: "system",
    kind: "value",
    hint: "TEXT",
    description: 'with --chat: a system message before the prompt (a JSON Lines item\'s "system" takes its place)',
    jsonl: "system",
    type: textSetting,
  },
  contextLength: {
    name: "context-length",
    kind: "value",
    hint: "N",
    description: "context length, when lmc loads the model (a model already loaded keeps its own; lmc says so)",
    type: wholeNumber(1),
  },
  gpu: {
    name: "gpu",
    kind: "value",
    hint: "off|max|RATIO",
    description: "GPU offload, when lmc loads the model (a model already loaded keeps its own; lmc says so)",
    type: gpuRatio,
  },
  ttl: {
    name: "ttl",
    kind: "value",
    hint: "SECONDS",
    description: "unload the model after SECONDS idle, when lmc loads it (a model already loaded keeps its own; lmc says so)",
    type: secondsSetting({ whole: true }),
  },
  timeout: {
    name: "timeout",
    kind: "value",
    hint: "SECONDS",
    env: "LMC_TIMEOUT",
    description: "give up after SECONDS for the whole request (exit 124); in batch mode per item, whose record then says so",
    type: secondsSetting(),
  },
  parallel: {
    name: "parallel",
    common: true,
    short: "P",
    kind: "value",
    hint: "N",
    env: "LMC_PARALLEL",
    description: "batch: keep N predictions in flight (default 4)",
    type: wholeNumber(1),
  },
  idleTimeout: {
    name: "idle-timeout",
    kind: "value",
    hint: "SECONDS",
    env: "LMC_IDLE_TIMEOUT",
    description:
      "LM Studio silent for SECONDS while lmc waits on it (no progress, no text) ends the run (exit 3); in batch mode that host is taken out (default 60)",
    type: secondsSetting(),
  },
} satisfies Record<string, SettingSpec<unknown> & Partial<OptionSpec>>;

/** An option of the command line that may be a setting too. */
type OptionRow = OptionSpec & Partial<SettingSpec<unknown>>;

/** The command line, in --help's order. */
export const optionSpecs: readonly OptionRow[] = [
  settings.model,
  settings.maxTokens,
  {
    name: "stop",
    common: true,
    short: "s",
    kind: "list",
    hint: "STR",
    description: "stop before STR; repeatable (STR itself is not output); \\n is a newline, \\t a tab, \\\\ a backslash",
  },
  settings.temperature,
  settings.topK,
  settings.topP,
  settings.minP,
  settings.repeatPenalty,
  {
    name: "option",
    kind: "list",
    hint: "KEY=VALUE",
    description: "any other prediction setting of LM Studio's SDK, e.g. xtcProbability=0.5 or cpuThreads=4; repeatable",
  },
  {
    name: "schema",
    kind: "value",
    hint: "FILE|JSON",
    description: "make the completion JSON valid against this JSON Schema (a file, or inline JSON); JSON cut off by --max-tokens or the context exits 5",
  },
  settings.chat,
  settings.system,
  {
    name: "system-file",
    kind: "value",
    hint: "FILE",
    description: "with --chat: the system message is FILE's text (one last newline dropped; at most 32 MiB), read before LM Studio is asked",
  },
  {
    name: "show-prompt",
    kind: "flag",
    description:
      "write the prompt that would be sent to stdout and exit 0, without predicting and without stats (with --chat: as the model's template formats it)",
  },
  settings.contextOverflow,
  settings.draftModel,
  settings.contextLength,
  settings.gpu,
  settings.ttl,
  settings.seed,
  {
    name: "host",
    common: true,
    short: "H",
    kind: "list",
    hint: "URL",
    env: "LMC_HOST",
    description:
      "LM Studio server, e.g. ws://127.0.0.1:1234 or 192.168.1.5 (port 1234 when none is given; default: find the local one); in batch mode repeatable, to spread the work",
  },
  settings.timeout,
  {
    name: "output",
    common: true,
    short: "o",
    kind: "value",
    hint: "FILE",
    description: "write the completion to FILE, only on success and then whole; nothing on stdout (batch mode with --resume: see --resume)",
  },
  {
    name: "echo",
    short: "e",
    kind: "flag",
    description: "write the prompt before the completion (with --chat: the formatted prompt, the text the model continues)",
  },
  {
    name: "count-tokens",
    kind: "flag",
    description:
      'predict nothing: write {"tokens": N, "contextLength": M} for the prompt and the model, and no stats line (batch mode: one record per item, then the summary)',
  },
  { name: "no-stream", kind: "flag", description: "write the completion only once it is complete" },
  {
    name: "no-stats",
    common: true,
    kind: "flag",
    env: "LMC_NO_STATS",
    description: "do not write the stats JSON line (batch mode: the summary line) anywhere",
  },
  {
    name: "stats-file",
    kind: "value",
    hint: "FILE",
    env: "LMC_STATS_FILE",
    description: "append the stats JSON line to FILE instead of stderr, one line per run (a cut-off run's too); FILE is checked before LM Studio is asked",
  },
  { name: "fail-on-truncate", kind: "flag", description: "exit 5 when the completion was cut off by --max-tokens or the context length" },
  {
    name: "progress",
    kind: "flag",
    description:
      "show progress on stderr while the model loads, the prompt is processed and, when the text is not on screen (-o, --no-stream), the model generates (default: on a terminal)",
  },
  { name: "no-progress", kind: "flag", description: "never show progress" },
  { name: "reasoning", kind: "flag", description: "show a reasoning model's reasoning on stderr (it never reaches stdout)" },
  { name: "raw-stdin", kind: "flag", description: "send stdin byte for byte: keep its last newline and any byte-order mark" },
  { name: "each", common: true, kind: "flag", description: 'batch: complete each line of stdin ("-" among the words stands for it); JSON Lines out' },
  {
    name: "each-jsonl",
    kind: "flag",
    description:
      'batch: complete each JSON line of stdin: {"prompt": ..., optional "id", "model", "stop", "maxTokens", "temperature", "chat" (true/false), "system"}; "id", any JSON value, is copied into the record',
  },
  {
    name: "each-file",
    common: true,
    kind: "flag",
    description: "batch: complete each whole file; the words are the files, or with no words stdin names them, one per line",
  },
  {
    name: "null",
    short: "0",
    kind: "flag",
    description: "batch: the items on stdin are separated by NUL, not newline (--each's prompts, or --each-file's file names)",
  },
  {
    name: "delimiter",
    short: "d",
    kind: "value",
    hint: "STR",
    description: "batch: write the completions alone, each followed by STR (\\0 is NUL, \\n newline, \\t tab, \\\\ backslash)",
  },
  settings.parallel,
  settings.idleTimeout,
  {
    name: "resume",
    kind: "value",
    hint: "FILE",
    description:
      "batch: skip the items that FILE, an earlier run's output, already holds; with -o FILE, keep them there, and when the batch ends early (a signal, a failed host) keep every record finished so far, so the next --resume run goes on from there",
  },
  { name: "list", common: true, short: "l", kind: "flag", description: "list the models LM Studio has downloaded, and which are loaded, then exit" },
  { name: "json", kind: "flag", description: "with --list: one JSON array instead of lines" },
  { name: "completion", kind: "value", hint: "SHELL", description: "print the completion script for bash, zsh or fish, then exit" },
  { name: "verbose", short: "v", kind: "flag", description: "diagnostics and full errors on stderr" },
  { name: "help", common: true, short: "h", kind: "flag", description: "show the common options and exit" },
  { name: "all", kind: "flag", description: "with --help: every option, the environment and the exit statuses" },
  { name: "version", common: true, short: "V", kind: "flag", description: "show the version and exit" },
];

/** A prediction setting: a row with a key. */
type PredictionSetting = SettingSpec<unknown> & { key: string };
const isPredictionSetting = (row: SettingSpec<unknown>): row is PredictionSetting => row.key !== undefined;

/** Where a prediction setting's value goes in the prediction settings sent: its raw key, else its SDK name. */
export const predictionKey = (setting: PredictionSetting): string => setting.raw ?? setting.key;

/** The prediction settings --option KEY=VALUE takes, by KEY. */
export const optionSettings = lookupTable<PredictionSetting>(
  Object.fromEntries(
    Object.values<SettingSpec<unknown>>(settings)
      .filter(isPredictionSetting)
      .filter((setting) => setting.option !== false)
      .map((setting) => [setting.key, setting]),
  ),
);

/** The prediction settings that have a flag, in --help's order. */
export const flagSettings: ReadonlyArray<OptionRow & PredictionSetting> = optionSpecs.filter(
  (row): row is OptionRow & PredictionSetting => row.key !== undefined,
);

/** The prediction settings a JSON Lines item may carry, by field name, in --help's order. */
export const itemSettings = lookupTable<PredictionSetting>(
  Object.fromEntries(flagSettings.flatMap((setting) => (setting.jsonl ? [[setting.jsonl, setting]] : []))),
);
