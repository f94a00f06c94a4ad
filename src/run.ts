// One run of lmc, from command line to exit status. Everything that touches the
// process comes in through `Io`, so this can run inside tests as well.

import packageJson from "../package.json" with { type: "json" };
import { raceAbort, settleWithin, untilAborted } from "./abort.js";
import { parseArgs } from "./args.js";
import { ExitCode, LmcError } from "./errors.js";
import { renderHelp } from "./help.js";
import { findLocalServer, localPorts } from "./host.js";
import { isTruthy, resolveOptions, type Environment, type RunOptions } from "./options.js";
import type { CompletionRequest } from "./lmstudio.js";
import { bufferedSink, fileSink, ReaderGoneError, streamingSink, type CompletionSink } from "./output.js";
import { assemblePrompt, decodeStdin, needsStdin } from "./prompt.js";
import { loadSchema } from "./schema.js";
import { formatStats } from "./stats.js";
import { readStdin } from "./stdin.js";

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
  const say = (message: string) => io.stderr.write(`lmc: ${message}\n`);
  const stop = new AbortController();
  const stopListening = io.onInterrupt(() => stop.abort(new LmcError("interrupted", ExitCode.interrupted)));
  let timer: NodeJS.Timeout | undefined;
  try {
    const stdinText = needsStdin(options.words)
      ? decodeStdin(await raceAbort(readStdin(io.stdin, say), stop.signal), options.rawStdin)
      : undefined;
    const prompt = assemblePrompt(options.words, stdinText);
    const schema = options.schema === undefined ? undefined : await loadSchema(options.schema);

    // The deadline covers the talk with LM Studio, not a slow producer upstream.
    if (options.timeoutSec !== undefined) {
      const message = `no answer within ${options.timeoutSec} s (--timeout)`;
      timer = setTimeout(() => stop.abort(new LmcError(message, ExitCode.timeout)), options.timeoutSec * 1000);
    }

    const sink = options.outputFile
      ? await fileSink(options.outputFile)
      : options.stream
        ? streamingSink(io.stdout)
        : bufferedSink(io.stdout);
    try {
      const host = options.host ?? (await raceAbort(findServer(), stop.signal));
      if (options.verbose) say(`using LM Studio at ${host}`);
      const request: CompletionRequest = {
        prompt,
        model: options.model,
        stopStrings: options.stopStrings,
        prediction: options.prediction,
        schema,
        load: options.load,
        ttlSec: options.ttlSec,
        signal: stop.signal,
      };
      await predict(request, host, options, sink, stop, io);
    } catch (error) {
      await sink.discard().catch(() => {});
      throw error;
    }
    return ExitCode.ok;
  } finally {
    clearTimeout(timer);
    stopListening();
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
  request: CompletionRequest,
  host: string,
  options: RunOptions,
  sink: CompletionSink,
  stop: AbortController,
  io: Io,
): Promise<void> {
  // Loaded only now, so --help, --version and usage errors never pay for the SDK.
  const { openSession } = await import("./lmstudio.js");
  const session = openSession({
    host,
    credentials: options.credentials,
    log: (level, message) => options.verbose && io.stderr.write(`lmc: [sdk ${level}] ${message}\n`),
  });
  try {
    const prediction = await raceAbort(session.complete(request), stop.signal);
    try {
      if (options.echo) await sink.write(request.prompt);
      for await (const text of untilAborted(prediction.fragments, stop.signal)) await sink.write(text);
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
  } finally {
    await settleWithin(session.close(), 500);
  }
}
