// The stats line lmc writes to stderr after a completion. Pure.

import type { CompletionOutcome } from "../lmstudio/session.js";

/** The documented schema (README, "Stats"): fields are present when LM Studio reports them. */
export interface StatsRecord {
  model: { key: string; displayName: string; identifier: string };
  stopReason: string;
  stopString?: string;
  predictedTokensCount?: number;
  promptTokensCount?: number;
  totalTokensCount?: number;
  timeToFirstTokenSec?: number;
  tokensPerSecond?: number;
  totalTimeSec?: number;
}

export function statsRecord({ stats, model }: CompletionOutcome): StatsRecord {
  return {
    model: { key: model.key, displayName: model.displayName, identifier: model.identifier },
    stopReason: stats.stopReason,
    stopString: stats.stopString,
    predictedTokensCount: stats.predictedTokensCount,
    promptTokensCount: stats.promptTokensCount,
    totalTokensCount: stats.totalTokensCount,
    timeToFirstTokenSec: seconds(stats.timeToFirstTokenSec),
    tokensPerSecond: rate(stats.tokensPerSecond),
    totalTimeSec: seconds(stats.totalTimeSec),
  };
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
