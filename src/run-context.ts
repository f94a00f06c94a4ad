// What every kind of run shares: Ctrl-C and --timeout as one abort signal, a reader
// of stdout that goes away, and colour only where it belongs.

import type { ServerOptions } from "./command-line/options.js";
import { raceAbort } from "./abort.js";
import { ExitCode, LmcError } from "./errors.js";
import type { Io, StopSignal } from "./io.js";
import { fileSink } from "./output/output-file.js";
import type { OutputTarget } from "./output/output-path.js";
import { isBrokenPipe, ReaderGoneError, type CompletionSink } from "./output/sinks.js";

/** How each signal that stops lmc is reported, and its exit status (128 + the signal's number). */
const stoppedBy: Readonly<Record<StopSignal, [message: string, status: ExitCode]>> = {
  SIGINT: ["interrupted", ExitCode.interrupted],
  SIGHUP: ["hung up (SIGHUP)", ExitCode.hangup],
  SIGTERM: ["terminated (SIGTERM)", ExitCode.terminated],
};

/** Stop reasons that mean the completion did not end where the model would have ended it. */
const truncationReasons = new Set(["maxPredictedTokensReached", "contextLengthReached"]);

/** With --fail-on-truncate, the error of a completion cut off by the token limit or the context. */
export function cutOffError(failOnTruncate: boolean, stopReason: string): LmcError | undefined {
  if (!failOnTruncate || !truncationReasons.has(stopReason)) return undefined;
  return new LmcError(`the completion was cut off (${stopReason}; --fail-on-truncate)`, ExitCode.truncated);
}

/** How long a cancelled prediction may take to be confirmed by the server. */
export const CANCEL_GRACE_MS = 1000;

/** What --timeout's deadline says when it passes: before any answer came, or during one. */
export function timeoutError(seconds: number, answering: boolean): LmcError {
  const message = answering
    ? `the deadline of ${seconds} s (--timeout) passed mid-completion`
    : `no answer within ${seconds} s (--timeout)`;
  return new LmcError(message, ExitCode.timeout);
}

export interface Deadline {
  /** Starts counting --timeout. */
  start(): void;
  /** The answer has begun: a deadline passing from now on cuts a completion short. */
  answering(): void;
}

/**
 * Runs `work` with a controller that Ctrl-C, SIGHUP and SIGTERM abort, and that --timeout aborts
 * once `work` starts the deadline (after reading stdin, for a completion).
 */
export async function interruptible(
  options: ServerOptions,
  io: Io,
  work: (stop: AbortController, deadline: Deadline) => Promise<ExitCode>,
): Promise<ExitCode> {
  const stop = new AbortController();
  const stopListening = io.onInterrupt((signal) => stop.abort(new LmcError(...stoppedBy[signal])));
  let timer: NodeJS.Timeout | undefined;
  let answering = false;
  const deadline: Deadline = {
    start() {
      const seconds = options.timeoutSec;
      if (seconds === undefined) return;
      timer = setTimeout(() => stop.abort(timeoutError(seconds, answering)), seconds * 1000);
    },
    answering: () => void (answering = true),
  };
  try {
    return await work(stop, deadline);
  } finally {
    clearTimeout(timer);
    stopListening();
  }
}

/** How often lmc checks, while it writes nothing, whether the reader of stdout is still there. */
const READER_CHECK_MS = 250;

/**
 * Aborts `stop` with a ReaderGoneError as soon as the reader of stdout is known to
 * be gone, not only at the next write, which may be a whole completion away: a
 * write's EPIPE, or an empty write now and then, which fails once a socket's
 * reader has closed it. (On a pipe Linux lets an empty write succeed, so there
 * only a real write can tell.) Returns the function that stops watching.
 */
export function stopWhenReaderGoes(stdout: NodeJS.WriteStream, stop: AbortController): () => void {
  let watching = true;
  // Stays attached: an error from the last probe may come after watching has stopped.
  stdout.on("error", (error) => {
    if (watching && isBrokenPipe(error)) stop.abort(new ReaderGoneError());
  });
  const probe = setInterval(() => {
    if (!stdout.destroyed && !stdout.writableEnded) stdout.write("");
  }, READER_CHECK_MS);
  probe.unref();
  return () => {
    clearInterval(probe);
    watching = false;
  };
}

/** NO_COLOR (https://no-color.org) and TERM=dumb turn colour off; it is only ever used on a terminal. */
export function wantsColor(io: Io): boolean {
  return io.stderr.isTTY === true && !io.env.NO_COLOR && io.env.TERM !== "dumb";
}

/** -o FILE for this process: a new file gets the mode the umask leaves; /dev/stdout is stdout itself. */
export function outputFileSink(io: Io, path: string, stop: AbortController, target?: OutputTarget): Promise<CompletionSink> {
  // The file may be a FIFO no one reads: a signal or --timeout still ends the wait.
  return raceAbort(fileSink(path, { newFileMode: 0o666 & ~io.umask, stdout: io.stdout, stdoutFd: io.fds?.stdout, signal: stop.signal }, target), stop.signal);
}
