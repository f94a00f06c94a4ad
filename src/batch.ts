// Batch mode's engine: keeps up to `parallel` items in flight, and writes each
// record as soon as it and every earlier one are done, so the output is in input
// order and streams. Memory stays bounded: an item is read only when it may start,
// and items run at most `window` ahead of the last record written.

import type { BatchItem } from "./batch-input.js";
import type { StatsRecord } from "./stats.js";

/** One line of batch output. */
export interface BatchRecord {
  index: number;
  file?: string;
  completion?: string;
  stats?: StatsRecord;
  /** Why this item failed, and the exit status a single run would have had. */
  error?: string;
  status?: number;
}

export interface BatchSummary {
  items: number;
  failures: number;
  promptTokensCount: number;
  predictedTokensCount: number;
  wallTimeSec: number;
  tokensPerSecond: number;
}

export interface BatchRun {
  items: AsyncIterable<BatchItem>;
  parallel: number;
  /** Completes one item. Per-item failures come back as error records; a throw ends the batch. */
  complete(item: BatchItem): Promise<BatchRecord>;
  /** Writes one record's line; awaited, so a slow reader slows the batch down. */
  write(line: string): Promise<void>;
  signal: AbortSignal;
}

export async function runBatch({ items, parallel, complete, write, signal }: BatchRun): Promise<BatchSummary> {
  const started = performance.now();
  const summary = { items: 0, failures: 0, promptTokensCount: 0, predictedTokensCount: 0 };
  const window = parallel * 4;
  const inFlight = new Map<number, Promise<void>>();
  const finished = new Map<number, BatchRecord>();
  let nextToWrite = 0;
  let writing: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;

  /** Writes every finished record that is next in line; chained so writes never overlap. */
  const flush = () =>
    (writing = writing.then(async () => {
      for (let record = finished.get(nextToWrite); record; record = finished.get(nextToWrite)) {
        finished.delete(nextToWrite);
        await write(JSON.stringify(record) + "\n");
        nextToWrite++;
      }
    }));

  const start = (item: BatchItem) => {
    const task = complete(item)
      .then((record) => {
        summary.items++;
        if (record.error !== undefined) summary.failures++;
        summary.promptTokensCount += record.stats?.promptTokensCount ?? 0;
        summary.predictedTokensCount += record.stats?.predictedTokensCount ?? 0;
        finished.set(item.index, record);
        return flush();
      })
      .catch((error) => void (failure ??= { error }))
      .finally(() => inFlight.delete(item.index));
    inFlight.set(item.index, task);
  };

  for await (const item of items) {
    // Wait for room: fewer than `parallel` in flight, and not too far ahead of the output.
    while (!failure && !signal.aborted && (inFlight.size >= parallel || item.index - nextToWrite >= window)) {
      await (inFlight.size > 0 ? Promise.race(inFlight.values()) : writing);
    }
    if (failure || signal.aborted) break;
    start(item);
  }
  await Promise.all(inFlight.values());
  await writing;
  if (failure) throw failure.error;
  if (signal.aborted) throw signal.reason;

  const wallTimeSec = (performance.now() - started) / 1000;
  return { ...summary, wallTimeSec, tokensPerSecond: wallTimeSec > 0 ? summary.predictedTokensCount / wallTimeSec : 0 };
}
