// The stats line lmc writes to stderr after a completion. Pure.

import type { CompletionOutcome } from "./lmstudio.js";

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
    timeToFirstTokenSec: stats.timeToFirstTokenSec,
    tokensPerSecond: stats.tokensPerSecond,
    totalTimeSec: stats.totalTimeSec,
  };
}

/** One line of JSON; fields LM Studio did not report are left out. */
export function formatStats(outcome: CompletionOutcome): string {
  return JSON.stringify(statsRecord(outcome)) + "\n";
}
