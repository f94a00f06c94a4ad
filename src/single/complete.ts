// single/: one completion; this is the action, the rest its parts (prompt, stdin,
// schema, stats; batch mode reuses prompt and stats).
//
// One completion: the prompt from the words and stdin, the request to LM Studio, the
// text streamed to stdout (or -o), reasoning to stderr when asked, then the stats line.

import { raceAbort, settleWithin, untilAborted } from "../abort.js";
import type { RunOptions } from "../command-line/resolve-options.js";
import { ExitCode, HostSilentError } from "../errors.js";
import type { Io } from "../io.js";
import { withSession } from "../lmstudio/connect.js";
import type { CompletionRequest, Session } from "../lmstudio/session.js";
import { bufferedSink, streamingSink, streamWriter, type CompletionSink } from "../output/sinks.js";
import { CANCEL_GRACE_MS, interruptible, outputFileSink, stopWhenReaderGoes, cutOffError, wantsColor, type Deadline } from "../run-context.js";
import { noProgress, progressBar } from "../terminal/progress.js";
import { escapeControls } from "../terminal/terminal-text.js";
import { assemblePrompt, decodeStdin, needsStdin } from "./prompt.js";
import { loadSchema } from "./schema.js";
import { idleWatch, type IdleWatch } from "./idle-watch.js";
import { formatStats } from "./stats.js";
import { readStdin } from "./stdin.js";

export async function complete(options: RunOptions, io: Io): Promise<ExitCode> {
  return interruptible(options, io, async (stop, deadline) => {
    const say = (message: string) => io.stderr.write(`lmc: ${message}\n`);
    const stdinText = needsStdin(options.words)
      ? decodeStdin(await raceAbort(readStdin(io.stdin, say), stop.signal), options.rawStdin)
      : undefined;
    const prompt = assemblePrompt(options.words, stdinText);
    // Files the user names may be FIFOs no one writes (or reads): a signal or --timeout still ends the wait.
    const schema = options.schema === undefined ? undefined : await raceAbort(loadSchema(options.schema), stop.signal);

    // The deadline covers the talk with LM Studio, not a slow producer upstream.
    deadline.start();
    const showProgress = options.progress ?? io.stderr.isTTY === true;
    const progress = showProgress ? progressBar(io.stderr, { color: wantsColor(io) }) : noProgress;
    const sink = options.outputFile
      ? await outputFileSink(io, options.outputFile, stop)
      : options.stream
        ? streamingSink(io.stdout)
        : bufferedSink(io.stdout);
    // -o /dev/stdout writes stdout too: its reader is watched as well.
    const stopWatching = sink.stream === io.stdout ? stopWhenReaderGoes(io.stdout, stop) : () => {};
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
      await withSession(options, io, stop, async (session, host) => {
        const seconds = options.idleTimeoutSec;
        const silence = idleWatch(seconds * 1000, "the connection", (awaited) => {
          const what = awaited === "the connection" && session.connected() ? "the model" : awaited;
          stop.abort(new HostSilentError(host, seconds, what));
        });
        try {
          return await predict(watchedSession(session, silence), watchedRequest(request, silence), options, silence.writesOf(sink), stop, io, deadline);
        } finally {
          silence.stop();
        }
      });
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

/** The session, with its prediction's start and end told to the idle watch: silence after the end is no one's. */
function watchedSession(session: Session, silence: IdleWatch): Session {
  return {
    ...session,
    async complete(request) {
      const prediction = await session.complete(request);
      silence.alive("the first token");
      prediction.outcome.then(silence.stop, silence.stop);
      return prediction;
    },
  };
}

/** The request, with every message of LM Studio a sign of life. */
function watchedRequest(request: CompletionRequest, silence: IdleWatch): CompletionRequest {
  return {
    ...request,
    onLoadProgress: (fraction) => (silence.alive("the model to load"), request.onLoadProgress?.(fraction)),
    onPromptProgress: (fraction) => (silence.alive("the first token"), request.onPromptProgress?.(fraction)),
    onFirstToken: () => (silence.alive("the next token"), request.onFirstToken?.()),
    onFragment: () => (silence.alive("the next token"), request.onFragment?.()),
  };
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
    const cutOff = cutOffError(options.failOnTruncate, outcome.stats.stopReason);
    await (cutOff ? sink.discard() : sink.commit());
    if (options.stats) io.stderr.write(formatStats(outcome));
    if (cutOff) throw cutOff;
  } catch (error) {
    // Aborting the signal makes the SDK send a cancel; give the server a moment
    // to confirm it, so it stops generating for a reader that is gone.
    if (!stop.signal.aborted) stop.abort(error);
    await settleWithin(prediction.outcome, CANCEL_GRACE_MS);
    throw error;
  }
}
