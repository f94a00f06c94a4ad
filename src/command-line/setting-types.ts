// The types of a setting's value: each says in words what it accepts and turns the
// text a user typed into the value, or refuses it. The option table gives each
// setting one of these, so that its flag, environment variable, --option and JSON
// Lines field are checked alike. Pure.

import { UsageError } from "../errors.js";

export interface Setting<T> {
  /** What the value may be, for messages and docs. */
  accepts: string;
  /** The value, or undefined when `text` is not acceptable. */
  parse(text: string): T | undefined;
}

/** A decimal number as text (no hex, no "Infinity"), or NaN. */
const decimal = (text: string) => (/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(text) ? Number(text) : NaN);

export const numberSetting = (min: number, max = Infinity, { integer = false, exclusiveMin = false } = {}): Setting<number> => ({
  accepts: `${integer ? "a whole number" : "a number"} ${exclusiveMin ? ">" : ">="} ${min}${max < Infinity ? ` and <= ${max}` : ""}`,
  parse(text) {
    const value = decimal(text);
    const aboveMin = exclusiveMin ? value > min : value >= min;
    return Number.isFinite(value) && aboveMin && value <= max && (!integer || Number.isInteger(value)) ? value : undefined;
  },
});

export const wholeNumber = (min: number): Setting<number> => numberSetting(min, Infinity, { integer: true });

/** The SDK turns `false` off for these; "off" and "false" both say it. */
export const orOff = <T>(setting: Setting<T>): Setting<T | false> => ({
  accepts: `${setting.accepts}, or off`,
  parse: (text) => (text === "off" || text === "false" ? false : setting.parse(text)),
});

export const oneOf = <T extends string>(...choices: T[]): Setting<T> => ({
  accepts: `one of ${choices.join(", ")}`,
  parse: (text) => choices.find((choice) => choice === text),
});

/** Node's timers wait at most 2^31-1 ms (24.8 days), and LM Studio's too; a longer wait is as good as none. */
const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/**
 * A duration in seconds; anything beyond a timer's reach (1e99 too) is held at
 * MAX_TIMER_SECONDS. `whole`: whole seconds only (the SDK wants whole milliseconds
 * of a model's TTL, which a fraction like 1.0001 s does not make).
 */
export const secondsSetting = ({ whole = false } = {}): Setting<number> => ({
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
export const modelKeySetting: Setting<string> = {
  accepts: "a model key: 1 to 1024 characters, with no control characters",
  parse: (value) => (value.trim() !== "" && value.length <= 1024 && value !== "__proto__" && !/\p{C}/u.test(value) ? value : undefined),
};

/** Any text but the empty one (an unset variable in `--system "$PROMPT"` is a mistake, not a message). */
export const textSetting: Setting<string> = {
  accepts: "a non-empty string",
  parse: (text) => (text === "" ? undefined : text),
};

/** A JSON Lines field that is true or false (JSON's own, read through the text every field is checked as). */
export const trueOrFalse: Setting<boolean> = {
  accepts: "true or false",
  parse: (text) => (text === "true" ? true : text === "false" ? false : undefined),
};

/** GPU offload: off, max or the share of the model's layers on the GPU. */
export const gpuRatio: Setting<number | "off" | "max"> = {
  accepts: "off, max or a ratio from 0 to 1",
  parse: (text) => (text === "off" || text === "max" ? text : numberSetting(0, 1).parse(text)),
};

/** `value` checked by `setting`; `source` names where it came from, for the message. */
export function checkValue<T>(setting: Setting<T>, value: string, source: string): T {
  const parsed = setting.parse(value);
  // JSON quoting shows a newline or an escape sequence in the value as such.
  if (parsed === undefined) throw new UsageError(`${source} must be ${setting.accepts}, not ${JSON.stringify(value)}`);
  return parsed;
}
