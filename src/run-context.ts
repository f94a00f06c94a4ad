// What every kind of run shares: the process as `Io`, Ctrl-C and --timeout as one
// abort signal, and a session with LM Studio that is always closed.

import { raceAbort, settleWithin } from "./abort.js";
import { ExitCode, LmcError } from "./errors.js";
import { findLocalServer } from "./lmstudio/discovery.js";
import type { Session } from "./lmstudio/session.js";
import type { Environment, RunOptions } from "./command-line/resolve-options.js";
import { isBrokenPipe, ReaderGoneError } from "./output/sinks.js";

export interface Io {
  argv: readonly string[];
  env: Environment;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** Node's version, as in process.versions.node. */
  nodeVersion: string;
  /** The file mode creation mask: a new -o file gets 0666 less this. */
  umask: number;
  /** Calls `handler` on Ctrl-C, SIGHUP or SIGTERM; returns the function that stops listening. */
  onInterrupt(handler: (signal: StopSignal) => void): () => void;
}

export type StopSignal = "SIGINT" | "SIGHUP" | "SIGTERM";

/** How each signal that stops lmc is reported, and its exit status (128 + the signal's number). */
const stoppedBy: Readonly<Record<StopSignal, [message: string, status: ExitCode]>> = {
  SIGINT: ["interrupted", ExitCode.interrupted],
  SIGHUP: ["hung up (SIGHUP)", ExitCode.hangup],
  SIGTERM: ["terminated (SIGTERM)", ExitCode.terminated],
};

/** Stop reasons that mean the completion did not end where the model would have ended it. */
export const truncationReasons = new Set(["maxPredictedTokensReached", "contextLengthReached"]);

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
  options: RunOptions,
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

export function sdkLog(options: RunOptions, io: Io) {
  return (level: string, message: string) => options.verbose && io.stderr.write(`lmc: [sdk ${level}] ${message}\n`);
}

/** Finds LM Studio, opens a session with it for `work`, and always closes it. */
export async function withSession<T>(
  options: RunOptions,
  io: Io,
  stop: AbortController,
  work: (session: Session, host: string) => Promise<T>,
): Promise<T> {
  const host = options.hosts[0] ?? (await raceAbort(findServer(options.localPorts), stop.signal));
  if (options.verbose) io.stderr.write(`lmc: using LM Studio at ${host}\n`);
  // Loaded only now, so --help, --version and usage errors never pay for the SDK.
  const { openSession } = await import("./lmstudio/session.js");
  const session = openSession({ host, credentials: options.credentials, log: sdkLog(options, io) });
  try {
    return await work(session, host);
  } finally {
    await settleWithin(session.close(), 500);
  }
}

async function findServer(ports: readonly number[]): Promise<string> {
  const found = await findLocalServer(ports);
  if (found) return found;
  throw new LmcError(
    `cannot find LM Studio on this machine (tried 127.0.0.1 ports ${ports.join(", ")}): ` +
      `start its server (in the app, with "lms server start", or headless with "lms daemon up") ` +
      `or give its address with --host / LMC_HOST`,
    ExitCode.unreachable,
  );
}
