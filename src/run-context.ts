// What every kind of run shares: the process as `Io`, Ctrl-C and --timeout as one
// abort signal, and a session with LM Studio that is always closed.

import { raceAbort, settleWithin } from "./abort.js";
import { ExitCode, LmcError } from "./errors.js";
import { findLocalServer, localPorts } from "./host.js";
import type { Session } from "./lmstudio.js";
import type { Environment, RunOptions } from "./options.js";

export interface Io {
  argv: readonly string[];
  env: Environment;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** Node's version, as in process.versions.node. */
  nodeVersion: string;
  /** Calls `handler` on Ctrl-C; returns the function that stops listening. */
  onInterrupt(handler: () => void): () => void;
}

/** Stop reasons that mean the completion did not end where the model would have ended it. */
export const truncationReasons = new Set(["maxPredictedTokensReached", "contextLengthReached"]);

/** How long a cancelled prediction may take to be confirmed by the server. */
export const CANCEL_GRACE_MS = 1000;

/**
 * Runs `work` with a controller that Ctrl-C aborts, and that --timeout aborts
 * once `work` starts the deadline (after reading stdin, for a completion).
 */
export async function interruptible(
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
      `start its server (in the app, with "lms server start", or headless with "lms daemon up") ` +
      `or give its address with --host / LMC_HOST`,
    ExitCode.unreachable,
  );
}
