// Turns the parsed command line and the environment into what a run needs.
// Pure: flags win over the environment, and every value is checked here, so
// that nothing reaches LM Studio before the whole command line is known good.

import type { ParsedArgs } from "./args.js";
import { UsageError } from "./errors.js";
import { normalizeHost } from "./host.js";

export interface RunOptions {
  action: "help" | "version" | "complete";
  /** Prompt words; "-" stands for stdin. */
  words: string[];
  model?: string;
  maxTokens?: number;
  stopStrings: string[];
  temperature?: number;
  /** A websocket URL, or undefined to look for the local server. */
  host?: string;
  timeoutSec?: number;
  outputFile?: string;
  stream: boolean;
  stats: boolean;
  rawStdin: boolean;
  verbose: boolean;
}

export type Environment = Readonly<Record<string, string | undefined>>;

export function resolveOptions(args: ParsedArgs, env: Environment): RunOptions {
  const action = args.flags.has("help") ? "help" : args.flags.has("version") ? "version" : "complete";
  /** The flag's value, else the environment variable's; an empty variable counts as unset. */
  const setting = (name: string, envName: string) => {
    const flag = args.values.get(name);
    if (flag !== undefined) return { value: flag, source: `--${name}` };
    const fromEnv = env[envName];
    return fromEnv ? { value: fromEnv, source: envName } : undefined;
  };

  const model = setting("model", "LMC_MODEL");
  if (model && model.value.trim() === "") throw new UsageError(`${model.source} is empty`);
  const host = setting("host", "LMC_HOST");
  const output = args.values.get("output");
  if (output === "") throw new UsageError("--output needs a file name");

  return {
    action,
    words: args.words,
    model: model?.value,
    maxTokens: parseNumber(setting("max-tokens", "LMC_MAX_TOKENS"), { integer: true, min: 1 }),
    stopStrings: checkStopStrings(args.lists.get("stop") ?? []),
    temperature: parseNumber(setting("temperature", "LMC_TEMPERATURE"), { min: 0 }),
    host: host ? normalizeHost(host.value, host.source) : undefined,
    timeoutSec: parseNumber(setting("timeout", "LMC_TIMEOUT"), { min: 0, exclusiveMin: true }),
    outputFile: output,
    stream: !args.flags.has("no-stream"),
    stats: !args.flags.has("no-stats"),
    rawStdin: args.flags.has("raw-stdin"),
    verbose: args.flags.has("verbose") || isTruthy(env.LMC_DEBUG),
  };
}

interface NumberRule {
  integer?: boolean;
  min: number;
  exclusiveMin?: boolean;
}

export function parseNumber(
  setting: { value: string; source: string } | undefined,
  rule: NumberRule,
): number | undefined {
  if (!setting) return undefined;
  const { value, source } = setting;
  const number = /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value) ? Number(value) : NaN;
  const tooSmall = rule.exclusiveMin ? number <= rule.min : number < rule.min;
  if (!Number.isFinite(number) || tooSmall || (rule.integer && !Number.isInteger(number))) {
    const kind = rule.integer ? "a whole number" : "a number";
    const bound = `${rule.exclusiveMin ? ">" : ">="} ${rule.min}`;
    throw new UsageError(`${source} must be ${kind} ${bound}, not "${value}"`);
  }
  return number;
}

function checkStopStrings(stops: string[]): string[] {
  if (stops.includes("")) throw new UsageError("--stop needs a non-empty string");
  return stops;
}

export function isTruthy(value: string | undefined): boolean {
  return value !== undefined && value !== "" && value !== "0" && value.toLowerCase() !== "false";
}
