// What every kind of run shares: Ctrl-C and --timeout as one abort signal, a reader
// of stdout that goes away, the progress line and colour only where they belong, -o,
// and where the stats line goes.

import type { ServerOptions, StatsDestination } from "../command-line/options.js";
import { raceAbort } from "../lib/abort.js";
import { ExitCode, LmcError } from "../errors.js";
import type { Io, StopSignal } from "../io.js";
import { fileSink } from "../output/output-file.js";
import type { OutputTarget } from "../output/output-path.js";
import { openStatsFile, statsToStream, type StatsOutput } from "../output/stats-file.js";
import { isBrokenPipe, ReaderGoneError, type CompletionSink } from "../output/sinks.js";
import { progressBar, type Progress } from "../terminal/progress.js";
import { deadline, type Deadline } from "./deadline.js";

/** How each signal that stops lmc is reported, and its exit status (128 + the signal's number). */
const stoppedBy: Readonly<Record<StopSignal, [message: string, status: ExitCode]>> = {
  SIGINT: ["interrupted", ExitCode.interrupted],
  SIGHUP: ["hung up (SIGHUP)", ExitCode.hangup],
  SIGTERM: ["terminated (SIGTERM)", ExitCode.terminated],
};

/**
 * Runs `work` with a controller that Ctrl-C, SIGHUP and SIGTERM abort, and that --timeout aborts
 * once `work` starts the deadline (after reading stdin, for a completion).
 */
export async function interruptible(options: ServerOptions, io: Io, work: (stop: AbortController, deadline: Deadline) => Promise<ExitCode>): Promise<ExitCode> {
  const stop = new AbortController();
  const stopListening = io.onInterrupt((signal) => stop.abort(new LmcError(...stoppedBy[signal])));
  const runDeadline = deadline(options.timeoutSec, (error) => stop.abort(error));
  try {
    return await work(stop, runDeadline);
  } finally {
    runDeadline.stop();
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
function stopWhenReaderGoes(stdout: NodeJS.WriteStream, stop: AbortController): () => void {
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

/** Watches the reader of stdout while `sink` writes to it (-o /dev/stdout does too); returns the function that stops watching. */
export function watchReader(sink: CompletionSink, io: Io, stop: AbortController): () => void {
  return sink.stream === io.stdout ? stopWhenReaderGoes(io.stdout, stop) : () => {};
}

/** The progress line, when it is shown: --progress / --no-progress, or else whether stderr is a terminal. */
export function progressFor(wanted: boolean | undefined, io: Io): Progress | undefined {
  return (wanted ?? io.stderr.isTTY === true) ? progressBar(io.stderr, { color: wantsColor(io) }) : undefined;
}

/** NO_COLOR (https://no-color.org) and TERM=dumb turn colour off; it is only ever used on a terminal. */
function wantsColor(io: Io): boolean {
  return io.stderr.isTTY === true && !io.env.NO_COLOR && io.env.TERM !== "dumb";
}

/** -o FILE for this process: a new file gets the mode the umask leaves; /dev/stdout is stdout itself. */
export function outputFileSink(io: Io, path: string, stop: AbortController, target?: OutputTarget): Promise<CompletionSink> {
  // The file may be a FIFO no one reads: a signal or --timeout still ends the wait.
  return raceAbort(fileSink(path, { newFileMode: 0o666 & ~io.umask, stdout: io.stdout, stdoutFd: io.fds?.stdout, signal: stop.signal }, target), stop.signal);
}

/**
 * Where the stats line goes: stderr, --stats-file's FILE (opened now, before LM Studio
 * is asked, so a FILE that cannot be written fails the run first), or nowhere.
 */
export async function statsOutput(io: Io, destination: StatsDestination, stop: AbortController): Promise<StatsOutput | undefined> {
  if (destination === false) return undefined;
  if (destination === "stderr") return statsToStream(io.stderr);
  // The file may be a FIFO no one reads: a signal or --timeout still ends the wait.
  return raceAbort(openStatsFile(destination.file, { signal: stop.signal, stderr: io.fds ? io.stderr : undefined }), stop.signal);
}
