// Batch mode (--each, --each-jsonl, --each-file): every item through one session,
// or through a pool of hosts (on-hosts.ts); records on stdout in input order (the
// ordered engine), a summary on stderr.

import { setMaxListeners } from "node:events";
import { fstatSync } from "node:fs";
import { stat } from "node:fs/promises";
import { raceAbort } from "../lib/abort.js";
import type { BatchOptions } from "../command-line/options.js";
import { ConnectionLostError, ExitCode } from "../errors.js";
import type { Io } from "../io.js";
import { withSession } from "../lmstudio/connect.js";
import { outputTarget, type OutputTarget } from "../output/output-path.js";
import { streamingSink, type CompletionSink } from "../output/sinks.js";
import { IdleWatch } from "../prediction/idle-watch.js";
import { interruptible, outputFileSink, progressFor, statsOutput, watchReader } from "../prediction/run-context.js";
import { stdinChunks } from "../prompt/stdin.js";
import { systemMessage } from "../prompt/system-prompt.js";
import { noProgress, type Progress } from "../terminal/progress.js";
import { oneLine } from "../terminal/terminal-text.js";
import { completeItem, failedRecord } from "./complete-item.js";
import { heapFlags } from "./heap.js";
import { countRecords, fileNamesFromStream, itemsFromFiles, itemsFromStream, type BatchItem } from "./input.js";
import { batchOnHosts } from "./on-hosts.js";
import { runInOrder, type BatchRecord, type RunItems } from "./ordered-engine.js";
import { carriedRecords, readEarlierOutput, sameFile, type EarlierOutput } from "./resume.js";
import { stdinFileAhead } from "./stdin-file.js";

/**
 * Batch mode: every item of stdin (or every file) completed through one
 * session, or a pool of them with several hosts; records on stdout in input
 * order, a summary line on stderr.
 */
export async function batchMode(options: BatchOptions, io: Io): Promise<ExitCode> {
  const flags = heapFlags(io.nodeVersion);
  if (flags) io.setV8Flags(flags);
  // --timeout counts per item (see completeItem), so the run's own deadline is never started.
  return interruptible(options, io, async (stop) => {
    setMaxListeners(batchListenerLimit(options.parallel, options.hosts.length), stop.signal);
    const shownProgress = progressFor(options.progress, io);
    const progress = shownProgress ?? noProgress;
    // Before stdin is read from: counting it starts from where it stands.
    const total = shownProgress ? itemCount(options, io) : () => undefined;
    const items = batchItems(options, io);
    // --system-file is read once, before LM Studio is asked; the items get its text.
    const withSystem: BatchOptions = { ...options, system: await systemMessage(options, stop.signal), systemFile: undefined };
    // Files the user names may be FIFOs no one writes (or reads): a signal still ends the wait.
    const earlier = options.resumeFile === undefined ? undefined : await raceAbort(readEarlierOutput(options.resumeFile), stop.signal);
    const { outputFile } = options;
    const stats = await statsOutput(io, options.stats, stop).catch(async (error: unknown) => {
      await earlier?.close();
      throw error;
    });
    let target: OutputTarget | undefined;
    let sink: CompletionSink;
    try {
      target = outputFile === undefined ? undefined : await outputTarget(outputFile);
      sink = outputFile !== undefined && target ? await outputFileSink(io, outputFile, stop, target) : streamingSink(io.stdout);
    } catch (error) {
      await Promise.all([stats?.close(), earlier?.close()]);
      throw error;
    }
    // --resume FILE -o FILE: FILE is replaced, so the new one holds the earlier records too.
    const carried = earlier && target?.kind === "replace" && sameFile(earlier.stats, target.existing) ? carriedRecords(earlier) : undefined;
    // The >> recipe after a run killed mid-write: the new records start on a line of their own.
    if (earlier?.cutShort && (await appendsTo(earlier, target, io))) await sink.write("\n");
    // A reader of stdout that is gone ends the batch at once, not after the items in flight.
    const stopWatching = watchReader(sink, io, stop);
    const onRecord = showProgressLine(progress, total);
    const { delimiter } = options;
    // What an early end keeps (see keepProgress): the records written, less the carried ones among them.
    const written = { records: 0, carried: 0, failed: false };
    const run: RunItems = (parallel, complete) =>
      runInOrder({
        items,
        parallel,
        skip: earlier && new Set(earlier.done.keys()),
        earlier:
          carried &&
          ((index) => {
            written.carried++;
            return carried.record(index);
          }),
        onRecord,
        signal: stop.signal,
        write: async (output) => {
          try {
            await sink.write(output);
            written.records++;
          } catch (error) {
            written.failed = true;
            stop.abort(error); // cancels what is in flight: its records could not be written either
            throw error;
          }
        },
        render: delimiter === undefined ? undefined : (record) => plainRecord(record, delimiter, io),
        complete,
      });
    try {
      const summary =
        options.hosts.length > 1
          ? await batchOnHosts(withSystem, io, stop.signal, run)
          : await withSession(options, io, stop, (session, host) => {
              const watch = new IdleWatch(options.idleTimeoutSec * 1000);
              return run(options.parallel, async (item) => {
                try {
                  return await completeItem(session, host, watch, item, withSystem, stop.signal);
                } catch (error) {
                  // With one host, a lost connection fails the item; an unreachable or silent host ends the batch.
                  if (error instanceof ConnectionLostError) return failedRecord(item, error.message, error.exitCode);
                  throw error;
                }
              });
            });
      progress.clear();
      written.failed = true; // from here on, a failure is the output's own: nothing is kept
      if (carried) for await (const record of carried.rest()) await sink.write(record);
      await sink.commit();
      await stats?.write(JSON.stringify(summary) + "\n");
      return summary.failures > 0 ? ExitCode.failed : ExitCode.ok;
    } catch (error) {
      progress.clear();
      const keep = options.resumeFile !== undefined && target?.kind === "replace" && !written.failed && written.records > written.carried;
      await (keep ? keepProgress(sink, carried) : sink.discard().catch(() => {}));
      throw error;
    } finally {
      stopWatching();
      await Promise.all([stats?.close(), earlier?.close()]);
    }
  });
}

/**
 * --resume with -o FILE, ended early (a signal, a failed host, unreadable input):
 * FILE is a record of progress, so it gets what the run wrote, the records up to the
 * first item not finished, and after them the earlier records not yet carried over,
 * so that none is lost and the next --resume run skips them all. It is committed as
 * -o commits, whole or not at all; the run's exit status stays that of its end.
 * Records finished after the first unfinished item are not kept (they would need
 * the output out of order); the next run completes them again.
 */
async function keepProgress(sink: CompletionSink, carried: ReturnType<typeof carriedRecords> | undefined): Promise<void> {
  try {
    if (carried) for await (const record of carried.rest()) await sink.write(record);
    await sink.commit();
  } catch {
    // FILE stays as it was: the error that ended the run is the one to report.
    await sink.discard().catch(() => {});
  }
}

/** The progress line after each record: a bar when the total is known, the counts alone when it is not. */
function showProgressLine(progress: Progress, total: () => number | undefined) {
  const started = performance.now();
  return ({ items: done, failures, skipped }: { items: number; failures: number; skipped: number }) => {
    const known = total();
    const toDo = known === undefined ? undefined : known - skipped;
    const line = progressLine({ done, toDo, failures, skipped, perSecond: done / ((performance.now() - started) / 1000) });
    if (toDo === undefined) progress.text(line);
    else progress.show(line, toDo === 0 ? 1 : done / toDo);
  };
}

/** "12/40 done, 1 failed, 3 skipped, 2.5/s": the skipped only when there are some, the total only when known. */
export function progressLine(counts: { done: number; toDo?: number; failures: number; skipped: number; perSecond: number }): string {
  const { done, toDo, failures, skipped, perSecond } = counts;
  return `${done}${toDo === undefined ? "" : `/${toDo}`} done, ${failures} failed${skipped ? `, ${skipped} skipped` : ""}, ${perSecond.toFixed(1)}/s`;
}

/** Whether the output goes to the end of the file --resume read: stdout (or -o /dev/stdout) appended to it. */
async function appendsTo(earlier: EarlierOutput, target: OutputTarget | undefined, io: Io): Promise<boolean> {
  try {
    if (target === undefined) return io.fds !== undefined && sameFile(earlier.stats, fstatSync(io.fds.stdout));
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
function batchItems(options: BatchOptions, io: Io): AsyncGenerator<BatchItem> {
  if (options.batch === "files") return itemsFromFiles(options.words);
  if (options.batch === "file-names" || options.batch === "file-names-nul") {
    return itemsFromFiles(fileNamesFromStream(stdinChunks(io.stdin), options.batch === "file-names-nul"));
  }
  return itemsFromStream(stdinChunks(io.stdin), options.batch);
}

/**
 * The number of items, for the progress line, once it is known: the files, or the
 * records of stdin when stdin is a regular file (counted in the background).
 */
function itemCount(options: BatchOptions, io: Io): () => number | undefined {
  if (options.batch === "files") return () => options.words.length;
  let count: number | undefined;
  const ahead = io.fds === undefined ? undefined : stdinFileAhead(io.fds.stdin, io.stdinFileOffset?.());
  if (ahead !== undefined) {
    void countRecords(ahead, options.batch === "nul" || options.batch === "file-names-nul" ? 0x00 : 0x0a).then(
      (counted) => (count = counted),
      () => {},
    );
  }
  return () => count;
}

/**
 * --delimiter: the completion alone, then the delimiter. A failed item keeps its
 * place, with the text it got (most often none), and says why on stderr.
 */
function plainRecord(record: BatchRecord, delimiter: string, io: Io): string {
  // The file's name and the error may carry anything a file name can: shown, never obeyed.
  if (record.error !== undefined) io.stderr.write(`lmc: item ${record.index}${record.file ? ` (${oneLine(record.file)})` : ""}: ${oneLine(record.error)}\n`);
  return (record.completion ?? "") + delimiter;
}
