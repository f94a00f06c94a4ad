// The stats line lmc writes to stderr after a completion. Pure.

import type { CompletionOutcome } from "../lmstudio/session.js";

/**
 * The documented schema (the man page, STATISTICS): fields are present when LM Studio reports
 * them, and null when what it reported cannot be true (see statsRecord).
 */
export interface StatsRecord {
  model: { key: string; displayName: string; identifier: string };
  stopReason: string;
  stopString?: string;
  predictedTokensCount?: number | null;
  promptTokensCount?: number | null;
  totalTokensCount?: number | null;
  timeToFirstTokenSec?: number | null;
  tokensPerSecond?: number | null;
  totalTimeSec?: number | null;
}

/**
 * The stats as lmc writes them. The server's numbers are checked first, since scripts
 * add them up: a count that is not a whole number from 0 to 2^53, a time or rate that is
 * not a finite number >= 0, and a total that is not the sum of its two parts are written
 * as null, never passed on.
 */
export function statsRecord({ stats, model }: CompletionOutcome): StatsRecord {
  const promptTokensCount = count(stats.promptTokensCount);
  const predictedTokensCount = count(stats.predictedTokensCount);
  return {
    model: { key: model.key, displayName: model.displayName, identifier: model.identifier },
    stopReason: stats.stopReason,
    stopString: stats.stopString,
    predictedTokensCount,
    promptTokensCount,
    totalTokensCount: total(count(stats.totalTokensCount), promptTokensCount, predictedTokensCount),
    timeToFirstTokenSec: measure(stats.timeToFirstTokenSec, seconds),
    tokensPerSecond: measure(stats.tokensPerSecond, rate),
    totalTimeSec: measure(stats.totalTimeSec, seconds),
  };
}

/** A count of tokens: a whole number from 0 up to where doubles stay exact; null if it is not one. */
function count(value: unknown): number | null | undefined {
  if (value === undefined) return undefined;
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : null;
}

/** The total, when it is the sum of its parts (a part not reported cannot be checked; one that is null makes it null). */
function total(value: number | null | undefined, prompt: number | null | undefined, predicted: number | null | undefined) {
  if (value === undefined || value === null) return value;
  if (prompt === null || predicted === null) return null;
  if (prompt !== undefined && predicted !== undefined && prompt + predicted !== value) return null;
  return value;
}

/** A time or a rate: a finite number >= 0, rounded; null if it is not one. */
function measure(value: unknown, round: (value: number) => number): number | null | undefined {
  if (value === undefined) return undefined;
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? round(value) : null;
}

// Floats rounded to what they can mean: 0.009810187000000041 s is noise past the
// microsecond, and a rate past two decimals. An absent field stays absent.

/** Seconds, to the microsecond. */
export function seconds(value: number): number;
export function seconds(value: number | undefined): number | undefined;
export function seconds(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.round(value * 1e6) / 1e6;
}

/** A rate (tokens or items per second), to two decimals. */
export function rate(value: number): number;
export function rate(value: number | undefined): number | undefined;
export function rate(value: number | undefined): number | undefined {
  return value === undefined ? undefined : Math.round(value * 100) / 100;
}

/**
 * One line of JSON; fields LM Studio did not report are left out. JSON escapes the
 * C0 controls but not DEL and the C1 controls, which a server's model name might
 * carry to the terminal: those are escaped too (the same JSON value).
 */
export function formatStats(outcome: CompletionOutcome): string {
  const json = JSON.stringify(statsRecord(outcome)).replace(/[\x7f-\x9f]/g, (char) => `\\u00${char.charCodeAt(0).toString(16)}`);
  return json + "\n";
}
