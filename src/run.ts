// One run of lmc, from command line to exit status. Everything that touches the
// process comes in through `Io`, so this can run inside tests as well.

import packageJson from "../package.json" with { type: "json" };
import { raceAbort, settleWithin, untilAborted } from "./abort.js";
import { parseArgs } from "./args.js";
import { renderCompletion } from "./completion.js";
import { ConnectionLostError, ExitCode, isHostFailure, LmcError } from "./errors.js";
import { HostPool, type PooledHost } from "./host-pool.js";
import { renderHelp } from "./help.js";
import { findLocalServer, localPorts } from "./host.js";
import { isTruthy, resolveOptions, type Environment, type RunOptions } from "./options.js";
import { formatListing } from "./listing.js";
import { noProgress, progressBar } from "./progress.js";
import type { CompletionRequest, Session } from "./lmstudio.js";
import { bufferedSink, fileSink, ReaderGoneError, streamingSink, streamWriter, type CompletionSink } from "./output.js";
import { assemblePrompt, decodeStdin, joinPrompt, needsStdin } from "./prompt.js";
import { loadSchema } from "./schema.js";
import { formatStats, statsRecord } from "./stats.js";
import { readStdin } from "./stdin.js";
import { completedIndexes } from "./resume.js";
import { runBatch, type BatchRecord, type BatchSummary } from "./batch.js";
import { itemsFromFiles, itemsFromStream, type BatchFormat, type BatchItem } from "./batch-input.js";

export interface Io {
  argv: readonly string[];
  env: Environment;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** Calls `handler` on Ctrl-C; returns the function that stops listening. */
  onInterrupt(handler: () => void): () => void;
}

export const version: string = packageJson.version;

/** Stop reasons that mean the completion did not end where the model would have ended it. */
const truncationReasons = new Set(["maxPredictedTokensReached", "contextLengthReached"]);

/** How long a cancelled prediction may take to be confirmed by the server. */
const CANCEL_GRACE_MS = 1000;

export async function main(io: Io): Promise<ExitCode> {
  let verbose = isTruthy(io.env.LMC_DEBUG); // until the options say otherwise
  try {
    const options = resolveOptions(parseArgs(io.argv), io.env);
    verbose = options.verbose;
    if (options.action === "help") io.stdout.write(renderHelp(version));
    else if (options.action === "version") io.stdout.write(`lmc ${version}\n`);
    else if (options.action === "completion") io.stdout.write(renderCompletion(options.shell!));
    else if (options.action === "list") return await list(options, io);
    else if (options.action === "batch") return await batch(options, io);
    else return await complete(options, io);
    return ExitCode.ok;
  } catch (error) {
    return report(error, io.stderr, verbose);
  }
}

function report(error: unknown, stderr: NodeJS.WriteStream, verbose: boolean): ExitCode {
  if (error instanceof ReaderGoneError) return ExitCode.brokenPipe;
  if (error instanceof LmcError) {
    const suffix = error.exitCode === ExitCode.usage ? " (see lmc --help)" : "";
    stderr.write(`lmc: ${error.message}${suffix}\n`);
    if (verbose && error.cause) stderr.write(`${describe(error.cause)}\n`);
    return error.exitCode;
  }
  stderr.write(`lmc: ${error instanceof Error ? error.message : String(error)}\n`);
  if (verbose) stderr.write(`${describe(error)}\n`);
  return ExitCode.failed;
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

async function complete(options: RunOptions, io: Io): Promise<ExitCode> {
  return interruptible(options, io, async (stop, startDeadline) => {
    const say = (message: string) => io.stderr.write(`lmc: ${message}\n`);
    const stdinText = needsStdin(options.words)
      ? decodeStdin(await raceAbort(readStdin(io.stdin, say), stop.signal), options.rawStdin)
      : undefined;
    const prompt = assemblePrompt(options.words, stdinText);
    const schema = options.schema === undefined ? undefined : await loadSchema(options.schema);

    // The deadline covers the talk with LM Studio, not a slow producer upstream.
    startDeadline();
    const showProgress = options.progress ?? io.stderr.isTTY === true;
    const progress = showProgress ? progressBar(io.stderr, { color: wantsColor(io) }) : noProgress;
    const sink = options.outputFile
      ? await fileSink(options.outputFile)
      : options.stream
        ? streamingSink(io.stdout)
        : bufferedSink(io.stdout);
    try {
      const request: CompletionRequest = {
        prompt,
        model: options.model,
        stopStrings: options.stopStrings,
        prediction: options.prediction,
        schema,
        load: options.load,
        ttlSec: options.ttlSec,
        signal: stop.signal,
        onLoadProgress: (fraction) => progress.show(`loading ${options.model}`, fraction),
        onPromptProgress: (fraction) => progress.show("processing the prompt", fraction),
        onFirstToken: () => progress.clear(),
      };
      await withSession(options, io, stop, (session) => predict(session, request, options, sink, stop, io));
    } catch (error) {
      await sink.discard().catch(() => {});
      throw error;
    } finally {
      progress.clear();
    }
    return ExitCode.ok;
  });
}

async function list(options: RunOptions, io: Io): Promise<ExitCode> {
  return interruptible(options, io, async (stop, startDeadline) => {
    startDeadline();
    const models = await withSession(options, io, stop, (session) => raceAbort(session.listModels(), stop.signal));
    const stdout = streamWriter(io.stdout);
    await stdout.write(formatListing(models, { json: options.json, terminal: io.stdout.isTTY === true }));
    await stdout.flush();
    return ExitCode.ok;
  });
}

/**
 * Batch mode: every item of stdin (or every file) completed through one
 * session, records on stdout in input order, a summary line on stderr.
 */
async function batch(options: RunOptions, io: Io): Promise<ExitCode> {
  return interruptible(options, io, async (stop, startDeadline) => {
    startDeadline();
    const items = options.batch === "files" ? itemsFromFiles(options.words) : itemsFromStream(io.stdin, options.batch as BatchFormat);
    const skip = options.resumeFile === undefined ? undefined : await completedIndexes(options.resumeFile);
    const progress = (options.progress ?? io.stderr.isTTY === true) ? progressBar(io.stderr, { color: wantsColor(io) }) : noProgress;
    const sink = options.outputFile ? await fileSink(options.outputFile) : streamingSink(io.stdout);
    const started = performance.now();
    const run = (parallel: number, complete: (item: BatchItem) => Promise<BatchRecord>) =>
      runBatch({
        items,
        parallel,
        skip,
        onRecord: ({ items: done, failures, skipped }) => {
          const rate = done / ((performance.now() - started) / 1000);
          const total = options.batch === "files" ? `/${options.words.length - skipped}` : "";
          progress.text(`${done}${total} done, ${failures} failed${skipped ? `, ${skipped} skipped` : ""}, ${rate.toFixed(1)}/s`);
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

function sdkLog(options: RunOptions, io: Io) {
  return (level: string, message: string) => options.verbose && io.stderr.write(`lmc: [sdk ${level}] ${message}\n`);
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

/**
 * Runs `work` with a controller that Ctrl-C aborts, and that --timeout aborts
 * once `work` starts the deadline (after reading stdin, for a completion).
 */
async function interruptible(
  options: RunOptions,
  io: Io,
  work: (stop: AbortController, startDeadline: () => void) => Promise<ExitCode>,
): Promise<ExitCode> {
  const stop = new AbortController();
  const stopListening = io.onInterrupt(() => stop.abort(new LmcError("interrupted", ExitCode.interrupted)));
  let timer: NodeJS.Timeout | undefined;
  const startDeadline = () => {
    if (options.timeoutSec === undefined) return;
    const message = `no answer within ${options.timeoutSec} s (--timeout)`;
    timer = setTimeout(() => stop.abort(new LmcError(message, ExitCode.timeout)), options.timeoutSec * 1000);
  };
  try {
    return await work(stop, startDeadline);
  } finally {
    clearTimeout(timer);
    stopListening();
  }
}

/** NO_COLOR (https://no-color.org) and TERM=dumb turn colour off; it is only ever used on a terminal. */
function wantsColor(io: Io): boolean {
  return io.stderr.isTTY === true && !io.env.NO_COLOR && io.env.TERM !== "dumb";
}

/** Writes reasoning to stderr, and ends its last line so the stats line stands alone. */
function reasoningWriter(stderr: NodeJS.WriteStream) {
  const writer = streamWriter(stderr);
  let last = "\n";
  return {
    async write(text: string) {
      if (text === "") return;
      last = text;
      await writer.write(text);
    },
    async endLine() {
      if (!last.endsWith("\n")) await writer.write("\n");
    },
  };
}

/** Finds LM Studio, opens a session with it for `work`, and always closes it. */
async function withSession<T>(
  options: RunOptions,
  io: Io,
  stop: AbortController,
  work: (session: Session) => Promise<T>,
): Promise<T> {
  const host = options.hosts[0] ?? (await raceAbort(findServer(), stop.signal));
  if (options.verbose) io.stderr.write(`lmc: using LM Studio at ${host}\n`);
  // Loaded only now, so --help, --version and usage errors never pay for the SDK.
  const { openSession } = await import("./lmstudio.js");
  const session = openSession({ host, credentials: options.credentials, log: sdkLog(options, io) });
  try {
    return await work(session);
  } finally {
    await settleWithin(session.close(), 500);
  }
}

async function findServer(): Promise<string> {
  const found = await findLocalServer();
  if (found) return found;
  throw new LmcError(
    `cannot find LM Studio on this machine (tried 127.0.0.1 ports ${localPorts.join(", ")}): ` +
      `start its server (in the app, or with "lms server start") or give its address with --host / LMC_HOST`,
    ExitCode.unreachable,
  );
}

async function predict(
  session: Session,
  request: CompletionRequest,
  options: RunOptions,
  sink: CompletionSink,
  stop: AbortController,
  io: Io,
): Promise<void> {
  const prediction = await raceAbort(session.complete(request), stop.signal);
  try {
    if (options.echo) await sink.write(request.prompt);
    const reasoning = reasoningWriter(io.stderr);
    for await (const fragment of untilAborted(prediction.fragments, stop.signal)) {
      request.onFirstToken?.(); // also for servers that do not report the first token
      if (!fragment.reasoning) await sink.write(fragment.text);
      else if (options.reasoning) await reasoning.write(fragment.text);
    }
    await reasoning.endLine();
    const outcome = await raceAbort(prediction.outcome, stop.signal);
    const { stopReason } = outcome.stats;
    const cutOff = options.failOnTruncate && truncationReasons.has(stopReason);
    await (cutOff ? sink.discard() : sink.commit());
    if (options.stats) io.stderr.write(formatStats(outcome));
    if (cutOff) throw new LmcError(`the completion was cut off (${stopReason}; --fail-on-truncate)`, ExitCode.truncated);
  } catch (error) {
    // Aborting the signal makes the SDK send a cancel; give the server a moment
    // to confirm it, so it stops generating for a reader that is gone.
    if (!stop.signal.aborted) stop.abort(error);
    await settleWithin(prediction.outcome, CANCEL_GRACE_MS);
    throw error;
  }
}
