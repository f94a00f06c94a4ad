// Batch mode's engine: keeps up to `parallel` items in flight, and writes each
// record as soon as it and every earlier one are done, so the output is in input
// order and streams. Memory stays bounded: an item is read only when it may start,
// and items run at most `window` ahead of the last record written.

import { untilAborted } from "../lib/abort.js";
import type { BatchItem } from "./input.js";
import { rate, seconds, type StatsRecord } from "../prediction/stats.js";

/** One line of batch output. */
export interface BatchRecord {
  index: number;
  /** A JSON Lines item's "id", as it was given (any JSON value). */
  id?: unknown;
  file?: string;
  completion?: string;
  stats?: StatsRecord;
  /** --count-tokens: the prompt's tokens and the model's context length, in place of a completion. */
  tokens?: number;
  contextLength?: number;
  /** Why this item failed, and the exit status a single run would have had. */
  error?: string;
  status?: number;
  /** With several hosts: the one that served the item, and the one that failed it first. */
  host?: string;
  retriedFrom?: string;
}

export interface BatchSummary {
  /** Items completed (or failed) in this run. */
  items: number;
  failures: number;
  /** Items passed over because an earlier run had done them (--resume). */
  skipped: number;
  promptTokensCount: number;
  predictedTokensCount: number;
  wallTimeSec: number;
  tokensPerSecond: number;
}

/** Runs the items with `parallel` in flight, each through `complete`: how batch mode hands the engine its work. */
export type RunItems = (parallel: number, complete: (item: BatchItem) => Promise<BatchRecord>) => Promise<BatchSummary>;

interface BatchRun {
  items: AsyncIterable<BatchItem>;
  parallel: number;
  /** Items already done in an earlier run (--resume): not completed again, and written only through `earlier`. */
  skip?: ReadonlySet<number>;
  /** The output a skipped item had (--resume onto its own output), written again in its place. */
  earlier?: (index: number) => Promise<string>;
  /** Told after each record, for a progress line. */
  onRecord?: (summary: Readonly<{ items: number; failures: number; skipped: number }>) => void;
  /** Completes one item. Per-item failures come back as error records; a throw ends the batch. */
  complete: (item: BatchItem) => Promise<BatchRecord>;
  /** Writes one record's output; awaited, so a slow reader slows the batch down. */
  write: (output: string) => Promise<void>;
  /** A record as output; default: one JSON line. */
  render?: (record: BatchRecord) => string;
  signal: AbortSignal;
}

const jsonLine = (record: BatchRecord) => JSON.stringify(record) + "\n";

export async function runInOrder({ items, parallel, skip, earlier, onRecord, complete, write, render = jsonLine, signal }: BatchRun): Promise<BatchSummary> {
  const started = performance.now();
  const summary = { items: 0, failures: 0, skipped: 0, promptTokensCount: 0, predictedTokensCount: 0 };
  const window = parallel * 4;
  const inFlight = new Map<number, Promise<void>>();
  /** Records done but not yet written; null for a skipped item, which is passed over. */
  const finished = new Map<number, BatchRecord | null>();
  let nextToWrite = 0;
  let writing: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  // A failure or a stop must not wait for the next item: stdin may stay open, and quiet, for long.
  const stopReading = new AbortController();
  const reading = AbortSignal.any([signal, stopReading.signal]);

  /** Writes every finished record that is next in line; chained so writes never overlap. */
  const flush = () =>
    (writing = writing.then(async () => {
      while (finished.has(nextToWrite)) {
        const record = finished.get(nextToWrite);
        finished.delete(nextToWrite);
        if (record) await write(render(record));
        else if (earlier) await write(await earlier(nextToWrite));
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
        onRecord?.(summary);
        return flush();
      })
      .catch((error) => {
        failure ??= { error };
        stopReading.abort();
      })
      .finally(() => inFlight.delete(item.index));
    inFlight.set(item.index, task);
  };

  try {
    for await (const item of untilAborted(items, reading)) {
      // Wait for room: fewer than `parallel` in flight, and not too far ahead of the output.
      while (!failure && !signal.aborted && (inFlight.size >= parallel || item.index - nextToWrite >= window)) {
        await (inFlight.size > 0 ? Promise.race(inFlight.values()) : writing);
      }
      if (failure || signal.aborted) break;
      if (skip?.has(item.index)) {
        summary.skipped++;
        finished.set(item.index, null);
        flush().catch(() => {}); // a write error surfaces from `writing` below
        continue;
      }
      start(item);
    }
  } catch (error) {
    if (!reading.aborted) throw error; // the input itself failed
  }
  await Promise.all(inFlight.values());
  await writing;
  if (failure) throw failure.error;
  if (signal.aborted) throw signal.reason;

  const wallTimeSec = (performance.now() - started) / 1000;
  const tokensPerSecond = wallTimeSec > 0 ? summary.predictedTokensCount / wallTimeSec : 0;
  return { ...summary, wallTimeSec: seconds(wallTimeSec), tokensPerSecond: rate(tokensPerSecond) };
}
