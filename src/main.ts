// One run of lmc, from command line to exit status. Everything that touches the
// process comes in through `Io`, so this can run inside tests as well.

import packageJson from "../package.json" with { type: "json" };
import { raceAbort, settleWithin, untilAborted } from "./abort.js";
import { parseArgs } from "./command-line/args.js";
import { renderCompletion } from "./command-line/shell-completion.js";
import { ExitCode, LmcError } from "./errors.js";
import { renderHelp } from "./command-line/help.js";
import { formatListing } from "./list/listing.js";
import type { CompletionRequest, Session } from "./lmstudio/session.js";
import { isTruthy, resolveOptions, type RunOptions } from "./command-line/resolve-options.js";
import { bufferedSink, ReaderGoneError, streamingSink, streamWriter, type CompletionSink } from "./output/sinks.js";
import { fileSink } from "./output/output-file.js";
import { noProgress, progressBar } from "./terminal/progress.js";
import { assemblePrompt, decodeStdin, needsStdin } from "./single/prompt.js";
import { batch } from "./batch/batch-mode.js";
import {
  CANCEL_GRACE_MS,
  interruptible,
  stopWhenReaderGoes,
  truncationReasons,
  wantsColor,
  withSession,
  type Deadline,
  type Io,
} from "./run-context.js";
import { loadSchema } from "./single/schema.js";
import { formatStats } from "./single/stats.js";
import { readStdin } from "./single/stdin.js";
import { errorLine, escapeControls } from "./terminal/terminal-text.js";

export type { Io } from "./run-context.js";

export const version: string = packageJson.version;

export async function main(io: Io): Promise<ExitCode> {
  let verbose = isTruthy(io.env.LMC_DEBUG); // until the options say otherwise
  try {
    const options = resolveOptions(parseArgs(io.argv), io.env);
    verbose = options.verbose;
    if (options.action === "help") io.stdout.write(renderHelp(version, { all: options.helpAll }));
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

/**
 * The one line a failed run leaves on stderr. Messages may quote a server or the
 * SDK: they are put on one line with control characters escaped, and an SDK error
 * box loses its frame and stack trace (--verbose shows the underlying error).
 */
function report(error: unknown, stderr: NodeJS.WriteStream, verbose: boolean): ExitCode {
  if (error instanceof ReaderGoneError) return ExitCode.brokenPipe;
  if (error instanceof LmcError) {
    const suffix = error.exitCode === ExitCode.usage ? " (see lmc --help)" : "";
    stderr.write(`lmc: ${errorLine(error.message)}${suffix}\n`);
    if (verbose && error.cause) stderr.write(`${describe(error.cause)}\n`);
    return error.exitCode;
  }
  stderr.write(`lmc: ${errorLine(error instanceof Error ? error.message : String(error))}\n`);
  if (verbose) stderr.write(`${describe(error)}\n`);
  return ExitCode.failed;
}

function describe(error: unknown): string {
  return escapeControls(error instanceof Error ? (error.stack ?? error.message) : String(error));
}

async function complete(options: RunOptions, io: Io): Promise<ExitCode> {
  return interruptible(options, io, async (stop, deadline) => {
    const say = (message: string) => io.stderr.write(`lmc: ${message}\n`);
    const stdinText = needsStdin(options.words)
      ? decodeStdin(await raceAbort(readStdin(io.stdin, say), stop.signal), options.rawStdin)
      : undefined;
    const prompt = assemblePrompt(options.words, stdinText);
    const schema = options.schema === undefined ? undefined : await loadSchema(options.schema);

    // The deadline covers the talk with LM Studio, not a slow producer upstream.
    deadline.start();
    const showProgress = options.progress ?? io.stderr.isTTY === true;
    const progress = showProgress ? progressBar(io.stderr, { color: wantsColor(io) }) : noProgress;
    const sink = options.outputFile
      ? await fileSink(options.outputFile, { newFileMode: 0o666 & ~io.umask, stdout: io.stdout })
      : options.stream
        ? streamingSink(io.stdout)
        : bufferedSink(io.stdout);
    const stopWatching = options.outputFile ? () => {} : stopWhenReaderGoes(io.stdout, stop);
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
      await withSession(options, io, stop, (session) => predict(session, request, options, sink, stop, io, deadline));
    } catch (error) {
      await sink.discard().catch(() => {});
      throw error;
    } finally {
      stopWatching();
      progress.clear();
    }
    return ExitCode.ok;
  });
}

async function list(options: RunOptions, io: Io): Promise<ExitCode> {
  return interruptible(options, io, async (stop, deadline) => {
    deadline.start();
    const models = await withSession(options, io, stop, (session) => raceAbort(session.listModels(), stop.signal));
    const stdout = streamWriter(io.stdout);
    await stdout.write(formatListing(models, { json: options.json, terminal: io.stdout.isTTY === true }));
    await stdout.flush();
    return ExitCode.ok;
  });
}

/**
 * Writes reasoning to stderr, with control characters escaped (it is the server's
 * text, bound for a terminal), and ends its last line so the stats line stands alone.
 */
function reasoningWriter(stderr: NodeJS.WriteStream) {
  const writer = streamWriter(stderr);
  let last = "\n";
  return {
    async write(text: string) {
      if (text === "") return;
      last = text;
      await writer.write(escapeControls(text));
    },
    async endLine() {
      if (!last.endsWith("\n")) await writer.write("\n");
    },
  };
}

async function predict(
  session: Session,
  request: CompletionRequest,
  options: RunOptions,
  sink: CompletionSink,
  stop: AbortController,
  io: Io,
  deadline: Deadline,
): Promise<void> {
  const prediction = await raceAbort(session.complete(request), stop.signal);
  try {
    if (options.echo) await sink.write(request.prompt);
    const reasoning = reasoningWriter(io.stderr);
    for await (const fragment of untilAborted(prediction.fragments, stop.signal)) {
      deadline.answering();
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
