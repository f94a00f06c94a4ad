// Batch mode (--each, --each-jsonl, --each-file): every item through one session,
// or through a pool of hosts; records on stdout in input order, a summary on stderr.

import { setMaxListeners } from "node:events";
import { fstatSync } from "node:fs";
import { stat } from "node:fs/promises";
import { raceAbort, settleWithin, untilAborted } from "../abort.js";
import { runBatch, type BatchRecord, type BatchSummary } from "./ordered-engine.js";
import { countRecords, fileNamesFromStream, itemsFromFiles, itemsFromStream, type BatchFormat, type BatchItem } from "./input.js";
import { ConnectionLostError, ExitCode, HostSilentError, isHostFailure, LmcError } from "../errors.js";
import { keepHeapNearLiveData } from "./heap.js";
import { HostPool, type PooledHost } from "./host-pool.js";
import { HostWatch } from "./host-watch.js";
import type { Session } from "../lmstudio/session.js";
import type { RunOptions } from "../command-line/resolve-options.js";
import { streamingSink } from "../output/sinks.js";
import { fileSink, outputTarget, type OutputTarget } from "../output/output-file.js";
import { noProgress, progressBar } from "../terminal/progress.js";
import { joinPrompt } from "../single/prompt.js";
import { carriedRecords, readEarlierOutput, sameFile, type EarlierOutput } from "./resume.js";
import {
  CANCEL_GRACE_MS,
  interruptible,
  sdkLog,
  stopWhenReaderGoes,
  timeoutError,
  truncationReasons,
  wantsColor,
  withSession,
  type Io,
} from "../run-context.js";
import { statsRecord } from "../single/stats.js";
import { stdinFileAhead } from "./stdin-file.js";

const STDIN_FD = 0;
const STDOUT_FD = 1;

/**
 * Batch mode: every item of stdin (or every file) completed through one
 * session, records on stdout in input order, a summary line on stderr.
 */
export async function batch(options: RunOptions, io: Io): Promise<ExitCode> {
  keepHeapNearLiveData(io.nodeVersion);
  // --timeout counts per item (see completeItem), so the run's own deadline is never started.
  return interruptible(options, io, async (stop) => {
    setMaxListeners(batchListenerLimit(options.parallel, options.hosts.length), stop.signal);
    const showProgress = options.progress ?? io.stderr.isTTY === true;
    const progress = showProgress ? progressBar(io.stderr, { color: wantsColor(io) }) : noProgress;
    // Before stdin is read from: counting it starts from where it stands.
    const total = showProgress ? itemCount(options) : () => undefined;
    const items = batchItems(options, io);
    const earlier = options.resumeFile === undefined ? undefined : await readEarlierOutput(options.resumeFile);
    const target = options.outputFile === undefined ? undefined : await outputTarget(options.outputFile);
    const sink = target ? await fileSink(options.outputFile!, { newFileMode: 0o666 & ~io.umask, stdout: io.stdout }, target) : streamingSink(io.stdout);
    // --resume FILE -o FILE: FILE is replaced, so the new one holds the earlier records too.
    const carried = earlier && target?.kind === "replace" && sameFile(earlier.stats, target.existing) ? carriedRecords(earlier) : undefined;
    // The >> recipe after a run killed mid-write: the new records start on a line of their own.
    if (earlier?.cutShort && (await appendsTo(earlier, target))) await sink.write("\n");
    // A reader of stdout that is gone ends the batch at once, not after the items in flight.
    const stopWatching = options.outputFile ? () => {} : stopWhenReaderGoes(io.stdout, stop);
    const started = performance.now();
    const run = (parallel: number, complete: (item: BatchItem) => Promise<BatchRecord>) =>
      runBatch({
        items,
        parallel,
        skip: earlier && new Set(earlier.done.keys()),
        earlier: carried?.record,
        onRecord: ({ items: done, failures, skipped }) => {
          const rate = done / ((performance.now() - started) / 1000);
          const known = total();
          const toDo = known === undefined ? undefined : known - skipped;
          const line = `${done}${toDo === undefined ? "" : `/${toDo}`} done, ${failures} failed${skipped ? `, ${skipped} skipped` : ""}, ${rate.toFixed(1)}/s`;
          // A bar when the total is known, the counts alone when it is not.
          if (toDo === undefined) progress.text(line);
          else progress.show(line, toDo === 0 ? 1 : done / toDo);
        },
        signal: stop.signal,
        write: async (output) => {
          try {
            await sink.write(output);
          } catch (error) {
            stop.abort(error); // cancels what is in flight: its records could not be written either
            throw error;
          }
        },
        render: options.delimiter === undefined ? undefined : (record) => plainRecord(record, options.delimiter!, io),
        complete,
      });
    try {
      const summary =
        options.hosts.length > 1
          ? await batchOnHosts(options, io, stop.signal, run)
          : await withSession(options, io, stop, (session, host) => {
              const watch = new HostWatch(options.idleTimeoutSec * 1000);
              return run(options.parallel, async (item) => {
                try {
                  return await completeItem(session, host, watch, item, options, stop.signal);
                } catch (error) {
                  // With one host, a lost connection fails the item; an unreachable or silent host ends the batch.
                  if (error instanceof ConnectionLostError) return failedRecord(item, error.message, error.exitCode);
                  throw error;
                }
              });
            });
      progress.clear();
      if (carried) for await (const record of carried.rest()) await sink.write(record);
      await sink.commit();
      if (options.stats) io.stderr.write(JSON.stringify(summary) + "\n");
      return summary.failures > 0 ? ExitCode.failed : ExitCode.ok;
    } catch (error) {
      progress.clear();
      await sink.discard().catch(() => {});
      throw error;
    } finally {
      stopWatching();
      await earlier?.close();
    }
  });
}

/** Whether the output goes to the end of the file --resume read: stdout (or -o /dev/stdout) appended to it. */
async function appendsTo(earlier: EarlierOutput, target: OutputTarget | undefined): Promise<boolean> {
  try {
    if (target === undefined) return sameFile(earlier.stats, fstatSync(STDOUT_FD));
    return target.kind === "inPlace" && sameFile(earlier.stats, await stat(target.path));
  } catch {
    return false;
  }
}

/**
 * How many listeners the batch's signal may have before Node warns of a leak: every
 * item in flight listens on it (see completeItem). With no --host, lmc finds one server.
 */
export function batchListenerLimit(parallel: number, hostCount: number): number {
  return parallel * Math.max(1, hostCount) + 10;
}

/** The items: files named by the words or on stdin, or records of stdin. */
function batchItems(options: RunOptions, io: Io): AsyncGenerator<BatchItem> {
  if (options.batch === "files") return itemsFromFiles(options.words);
  if (options.batch === "file-names" || options.batch === "file-names-nul") {
    return itemsFromFiles(fileNamesFromStream(io.stdin, options.batch === "file-names-nul"));
  }
  return itemsFromStream(io.stdin, options.batch as BatchFormat);
}

/**
 * The number of items, for the progress line, once it is known: the files, or the
 * records of stdin when stdin is a regular file (counted in the background).
 */
function itemCount(options: RunOptions): () => number | undefined {
  if (options.batch === "files") return () => options.words.length;
  let count: number | undefined;
  const ahead = stdinFileAhead(STDIN_FD);
  if (ahead !== undefined) {
    void countRecords(ahead, options.batch === "nul" || options.batch === "file-names-nul" ? 0x00 : 0x0a).then(
      (counted) => (count = counted),
      () => {},
    );
  }
  return () => count;
}

/** Prediction failures that may be the host's fault rather than the item's. */
const maybeTheHosts = new Set<number>([ExitCode.failed, ExitCode.modelNotFound]);

/** Several hosts: a pool of sessions, each host with --parallel in flight. */
async function batchOnHosts(
  options: RunOptions,
  io: Io,
  signal: AbortSignal,
  run: (parallel: number, complete: (item: BatchItem) => Promise<BatchRecord>) => Promise<BatchSummary>,
): Promise<BatchSummary & { failedHosts: Array<{ host: string; error: string }> }> {
  const { openSession } = await import("../lmstudio/session.js");
  const pool = new HostPool(options.hosts, options.parallel, (host) =>
    openSession({ host, credentials: options.credentials, log: sdkLog(options, io) }),
  );
  const watches = new Map(pool.hosts.map((host) => [host, new HostWatch(options.idleTimeoutSec * 1000)]));
  const takeOut = (host: PooledHost<Session>, reason: string) => {
    if (pool.fail(host, reason)) io.stderr.write(`lmc: ${reason}; that host is taken out of the rotation\n`);
  };
  try {
    const summary = await run(options.parallel * options.hosts.length, async (item) => {
      let failed: PooledHost<Session> | undefined;
      for (;;) {
        const host = await pool.acquire(failed);
        const served = (record: BatchRecord) => ({ ...record, host: host.url, ...(failed ? { retriedFrom: failed.url } : {}) });
        try {
          const record = await completeItem(host.session, host.url, watches.get(host)!, item, options, signal);
          if (record.error === undefined || !maybeTheHosts.has(record.status!)) {
            pool.succeeded(host);
            return served(record);
          }
          // Perhaps the host's fault: count it, and give the item one more chance elsewhere.
          if (pool.itemFailed(host, record.error)) io.stderr.write(`lmc: ${host.failure}; that host is taken out of the rotation\n`);
          if (failed || !pool.hasLiveHostBesides(host)) return served(record);
          failed = host;
        } catch (error) {
          if (signal.aborted || !isHostFailure(error)) throw error;
          takeOut(host, error.message);
          if (failed) return served(failedRecord(item, error.message, error.exitCode));
          failed = host;
        } finally {
          pool.release(host);
        }
      }
    });
    const failedHosts = pool.hosts.flatMap((host) => (host.failure === undefined ? [] : [{ host: host.url, error: host.failure }]));
    return { ...summary, failedHosts };
  } finally {
    await Promise.all(pool.hosts.map((host) => settleWithin(host.session.close(), 500)));
  }
}

/**
 * --delimiter: the completion alone, then the delimiter. A failed item keeps its
 * place as an empty completion, and says why on stderr.
 */
function plainRecord(record: BatchRecord, delimiter: string, io: Io): string {
  if (record.error !== undefined) io.stderr.write(`lmc: item ${record.index}${record.file ? ` (${record.file})` : ""}: ${record.error}\n`);
  return (record.completion ?? "") + delimiter;
}

function failedRecord(item: BatchItem, error: string, status: number): BatchRecord {
  return { index: item.index, ...(item.file === undefined ? {} : { file: item.file }), error, status };
}

async function completeItem(
  session: Session,
  host: string,
  watch: HostWatch,
  item: BatchItem,
  options: RunOptions,
  batchSignal: AbortSignal,
): Promise<BatchRecord> {
  // The SDK listens on the signal of every prediction it is given and never lets go:
  // each item gets a signal of its own, tied to the batch's, and untied when done.
  const itemAbort = new AbortController();
  const abortItem = () => itemAbort.abort(batchSignal.reason);
  batchSignal.addEventListener("abort", abortItem, { once: true });
  // --timeout is per item: one slow item fails, the batch goes on.
  let answering = false;
  const seconds = options.timeoutSec;
  const deadline = seconds === undefined ? undefined : setTimeout(() => itemAbort.abort(timeoutError(seconds, answering)), seconds * 1000);
  const stopWatching = watch.watch(() => itemAbort.abort(new HostSilentError(host, options.idleTimeoutSec)));
  const signsOfLife = {
    alive: () => watch.alive(),
    answering: () => ((answering = true), watch.alive()),
  };
  try {
    return await completeItemOnce(session, item, options, itemAbort.signal, signsOfLife);
  } catch (error) {
    if (!batchSignal.aborted && error instanceof LmcError && error.exitCode === ExitCode.timeout) {
      return failedRecord(item, error.message, error.exitCode);
    }
    throw error;
  } finally {
    clearTimeout(deadline);
    stopWatching();
    batchSignal.removeEventListener("abort", abortItem);
  }
}

async function completeItemOnce(
  session: Session,
  item: BatchItem,
  options: RunOptions,
  signal: AbortSignal,
  signsOfLife: { alive(): void; answering(): void },
): Promise<BatchRecord> {
  const record: BatchRecord = { index: item.index, ...(item.file === undefined ? {} : { file: item.file }) };
  const fail = (error: string, status: number): BatchRecord => ({ ...record, error, status });
  if (item.problem) return fail(item.problem, ExitCode.usage);
  const prompt = joinPrompt(options.batch === "files" ? [] : options.words, item.text);
  if (prompt === "") return fail("the prompt is empty", ExitCode.usage);
  try {
    const prediction = await raceAbort(
      session.complete({
        prompt,
        model: item.model ?? options.model,
        stopStrings: item.stopStrings ?? options.stopStrings,
        prediction: { ...options.prediction, ...item.prediction },
        load: options.load,
        ttlSec: options.ttlSec,
        signal,
        onLoadProgress: signsOfLife.alive,
        onPromptProgress: signsOfLife.alive,
      }),
      signal,
    );
    signsOfLife.alive();
    let completion = options.echo ? prompt : "";
    try {
      for await (const fragment of untilAborted(prediction.fragments, signal)) {
        signsOfLife.answering();
        if (!fragment.reasoning) completion += fragment.text;
      }
    } catch (error) {
      await settleWithin(prediction.outcome, CANCEL_GRACE_MS);
      throw error;
    }
    const outcome = await raceAbort(prediction.outcome, signal);
    const stats = statsRecord(outcome);
    if (options.failOnTruncate && truncationReasons.has(stats.stopReason)) {
      return { ...fail(`the completion was cut off (${stats.stopReason}; --fail-on-truncate)`, ExitCode.truncated), completion, stats };
    }
    return { ...record, completion, stats };
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    // A failed host is for the caller to handle (another host, or the end of the batch).
    if (isHostFailure(error)) throw error;
    if (error instanceof LmcError) return fail(error.message, error.exitCode);
    return fail(error instanceof Error ? error.message : String(error), ExitCode.failed);
  }
}
