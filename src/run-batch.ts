// Batch mode (--each, --each-jsonl, --each-file): every item through one session,
// or through a pool of hosts; records on stdout in input order, a summary on stderr.

import { setMaxListeners } from "node:events";
import { raceAbort, settleWithin, untilAborted } from "./abort.js";
import { runBatch, type BatchRecord, type BatchSummary } from "./batch.js";
import { countRecords, fileNamesFromStream, itemsFromFiles, itemsFromStream, type BatchFormat, type BatchItem } from "./batch-input.js";
import { ConnectionLostError, ExitCode, isHostFailure, LmcError } from "./errors.js";
import { keepHeapNearLiveData } from "./heap.js";
import { HostPool, type PooledHost } from "./host-pool.js";
import type { Session } from "./lmstudio.js";
import type { RunOptions } from "./options.js";
import { fileSink, streamingSink } from "./output.js";
import { noProgress, progressBar } from "./progress.js";
import { joinPrompt } from "./prompt.js";
import { completedIndexes } from "./resume.js";
import { CANCEL_GRACE_MS, interruptible, sdkLog, truncationReasons, wantsColor, withSession, type Io } from "./run-context.js";
import { statsRecord } from "./stats.js";
import { stdinFileAhead } from "./stdin-file.js";

const STDIN_FD = 0;

/**
 * Batch mode: every item of stdin (or every file) completed through one
 * session, records on stdout in input order, a summary line on stderr.
 */
export async function batch(options: RunOptions, io: Io): Promise<ExitCode> {
  keepHeapNearLiveData(io.nodeVersion);
  return interruptible(options, io, async (stop, startDeadline) => {
    // Every item in flight listens on the batch's signal (see completeItem), more than
    // the 10 after which Node warns of a leak.
    setMaxListeners(options.parallel * options.hosts.length + 10, stop.signal);
    startDeadline();
    const showProgress = options.progress ?? io.stderr.isTTY === true;
    const progress = showProgress ? progressBar(io.stderr, { color: wantsColor(io) }) : noProgress;
    // Before stdin is read from: counting it starts from where it stands.
    const total = showProgress ? itemCount(options) : () => undefined;
    const items = batchItems(options, io);
    const skip = options.resumeFile === undefined ? undefined : await completedIndexes(options.resumeFile);
    const sink = options.outputFile ? await fileSink(options.outputFile) : streamingSink(io.stdout);
    const started = performance.now();
    const run = (parallel: number, complete: (item: BatchItem) => Promise<BatchRecord>) =>
      runBatch({
        items,
        parallel,
        skip,
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
        write: (output) => sink.write(output),
        render: options.delimiter === undefined ? undefined : (record) => plainRecord(record, options.delimiter!, io),
        complete,
      });
    try {
      const summary =
        options.hosts.length > 1
          ? await batchOnHosts(options, io, stop.signal, run)
          : await withSession(options, io, stop, (session) =>
              run(options.parallel, async (item) => {
                try {
                  return await completeItem(session, item, options, stop.signal);
                } catch (error) {
                  // With one host, a lost connection fails the item; an unreachable host ends the batch.
                  if (error instanceof ConnectionLostError) return failedRecord(item, error.message, error.exitCode);
                  throw error;
                }
              }),
            );
      progress.clear();
      await sink.commit();
      if (options.stats) io.stderr.write(JSON.stringify(summary) + "\n");
      return summary.failures > 0 ? ExitCode.failed : ExitCode.ok;
    } catch (error) {
      progress.clear();
      await sink.discard().catch(() => {});
      throw error;
    }
  });
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

/** Several hosts: a pool of sessions, each host with --parallel in flight. */
async function batchOnHosts(
  options: RunOptions,
  io: Io,
  signal: AbortSignal,
  run: (parallel: number, complete: (item: BatchItem) => Promise<BatchRecord>) => Promise<BatchSummary>,
): Promise<BatchSummary & { failedHosts: Array<{ host: string; error: string }> }> {
  const { openSession } = await import("./lmstudio.js");
  const pool = new HostPool(options.hosts, options.parallel, (host) =>
    openSession({ host, credentials: options.credentials, log: sdkLog(options, io) }),
  );
  try {
    const summary = await run(options.parallel * options.hosts.length, async (item) => {
      let failed: PooledHost<Session> | undefined;
      for (;;) {
        const host = await pool.acquire(failed);
        try {
          const record = await completeItem(host.session, item, options, signal);
          return { ...record, host: host.url, ...(failed ? { retriedFrom: failed.url } : {}) };
        } catch (error) {
          if (signal.aborted || !isHostFailure(error)) throw error;
          if (pool.fail(host, error.message)) io.stderr.write(`lmc: ${error.message}; that host is taken out of the rotation\n`);
          if (failed) return { ...failedRecord(item, error.message, error.exitCode), host: host.url, retriedFrom: failed.url };
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

async function completeItem(session: Session, item: BatchItem, options: RunOptions, batchSignal: AbortSignal): Promise<BatchRecord> {
  // The SDK listens on the signal of every prediction it is given and never lets go:
  // each item gets a signal of its own, tied to the batch's, and untied when done.
  const itemAbort = new AbortController();
  const abortItem = () => itemAbort.abort(batchSignal.reason);
  batchSignal.addEventListener("abort", abortItem, { once: true });
  try {
    return await completeItemOnce(session, item, options, itemAbort.signal);
  } finally {
    batchSignal.removeEventListener("abort", abortItem);
  }
}

async function completeItemOnce(session: Session, item: BatchItem, options: RunOptions, signal: AbortSignal): Promise<BatchRecord> {
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
      }),
      signal,
    );
    let completion = options.echo ? prompt : "";
    try {
      for await (const fragment of untilAborted(prediction.fragments, signal)) if (!fragment.reasoning) completion += fragment.text;
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
