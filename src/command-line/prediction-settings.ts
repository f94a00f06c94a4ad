// The prediction settings a shell user can reach: each has a name from the SDK's
// LLMPredictionConfigInput, a parser that checks the value, and words that say
// what it accepts. Dedicated flags (--top-k …) and the generic --option KEY=VALUE
// both go through this table, so they are validated alike. Pure.

import { UsageError } from "../errors.js";
import { lookupTable } from "../lookup-table.js";

export interface Setting {
  /** What the value may be, for messages and docs. */
  accepts: string;
  /** The value for the SDK, or undefined when `text` is not acceptable. */
  parse(text: string): unknown;
}

/** A decimal number as text (no hex, no "Infinity"), or NaN. */
const decimal = (text: string) => (/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(text) ? Number(text) : NaN);

export const numberSetting = (min: number, max = Infinity, { integer = false, exclusiveMin = false } = {}): Setting => ({
  accepts: `${integer ? "a whole number" : "a number"} ${exclusiveMin ? ">" : ">="} ${min}${max < Infinity ? ` and <= ${max}` : ""}`,
  parse(text) {
    const value = decimal(text);
    const aboveMin = exclusiveMin ? value > min : value >= min;
    return Number.isFinite(value) && aboveMin && value <= max && (!integer || Number.isInteger(value)) ? value : undefined;
  },
});

/** The SDK turns `false` off for these; "off" and "false" both say it. */
const orOff = (setting: Setting): Setting => ({
  accepts: `${setting.accepts}, or off`,
  parse: (text) => (text === "off" || text === "false" ? false : setting.parse(text)),
});

const oneOf = (...choices: string[]): Setting => ({
  accepts: `one of ${choices.join(", ")}`,
  parse: (text) => (choices.includes(text) ? text : undefined),
});

/** Node's timers wait at most 2^31-1 ms (24.8 days), and LM Studio's too; a longer wait is as good as none. */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/**
 * A duration in seconds; anything beyond a timer's reach (1e99 too) is held at
 * MAX_TIMER_SECONDS. `whole`: whole seconds only (the SDK wants whole milliseconds
 * of a model's TTL, which a fraction like 1.0001 s does not make).
 */
export const secondsSetting = ({ whole = false } = {}): Setting => ({
  accepts: whole ? "a whole number > 0" : "a number > 0",
  parse(text) {
    const value = decimal(text);
    if (!(value > 0) || (whole && !Number.isInteger(value))) return undefined;
    return Math.min(value, MAX_TIMER_SECONDS);
  },
});

/**
 * A model key as the SDK accepts one (its reasonableKeyStringSchema), checked here so
 * that a bad one is a usage error rather than the SDK's boxed error and stack trace.
 */
export const modelKeySetting: Setting = {
  accepts: "a model key: 1 to 1024 characters, with no control characters",
  parse: (value) => (value.trim() !== "" && value.length <= 1024 && value !== "__proto__" && !/\p{C}/u.test(value) ? value : undefined),
};

export const predictionSettings = lookupTable<Setting>({
  temperature: numberSetting(0),
  maxTokens: orOff(numberSetting(1, Infinity, { integer: true })),
  // The upper bounds are those of LM Studio's configuration schema, which refuses more.
  topKSampling: numberSetting(0, 500, { integer: true }),
  topPSampling: orOff(numberSetting(0, 1)),
  minPSampling: orOff(numberSetting(0, 1)),
  repeatPenalty: orOff(numberSetting(0, Infinity, { exclusiveMin: true })),
  xtcProbability: orOff(numberSetting(0, 1)),
  xtcThreshold: orOff(numberSetting(0, 0.5)),
  logProbs: orOff(numberSetting(0, 100, { integer: true })),
  cpuThreads: numberSetting(1, Infinity, { integer: true }),
  contextOverflowPolicy: oneOf("stopAtLimit", "truncateMiddle", "rollingWindow"),
  draftModel: modelKeySetting,
  speculativeDecodingNumDraftTokensExact: numberSetting(1, Infinity, { integer: true }),
  speculativeDecodingMinDraftLengthToConsider: numberSetting(0, Infinity, { integer: true }),
  speculativeDecodingMinContinueDraftingProbability: numberSetting(0, 1),
});

/** Checks one prediction setting's value; `source` names where it came from, for the message. */
export function parseSetting(key: string, value: string, source: string): unknown {
  const setting = predictionSettings[key];
  if (!setting) {
    throw new UsageError(`${source}: unknown setting "${key}"; known: ${Object.keys(predictionSettings).join(", ")}`);
  }
  return checkValue(setting, value, source);
}

export function checkValue(setting: Setting, value: string, source: string): unknown {
  const parsed = setting.parse(value);
  // JSON quoting shows a newline or an escape sequence in the value as such.
  if (parsed === undefined) throw new UsageError(`${source} must be ${setting.accepts}, not ${JSON.stringify(value)}`);
  return parsed;
}

/**
 * `--option KEY=VALUE` pairs as settings, in order (a later one wins). Only keys of
 * predictionSettings are ever set, so "__proto__" can never become a prototype.
 */
export function parseOptionPairs(pairs: readonly string[]): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--option takes KEY=VALUE, not "${pair}"`);
    const key = pair.slice(0, eq);
    settings[key] = parseSetting(key, pair.slice(eq + 1), `--option ${key}`);
  }
  return settings;
}

/** --context-overflow's words, as the SDK names the policies. */
export const overflowPolicies = lookupTable({
  stop: "stopAtLimit",
  "truncate-middle": "truncateMiddle",
  "rolling-window": "rollingWindow",
});
