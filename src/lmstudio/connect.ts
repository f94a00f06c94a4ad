// A session's lifetime: which server (the one given, or the local one found), the
// session opened with it, and always closed. The SDK is loaded only here, on first use.

import { raceAbort, settleWithin } from "../abort.js";
import { ExitCode, LmcError } from "../errors.js";
import type { Credentials } from "./api-token.js";
import { findLocalServer } from "./discovery.js";
import { startServerAdvice } from "./sdk-errors.js";
import type { Session } from "./session.js";

/** Where LM Studio is and how to talk to it (a part of the run options). */
export interface ServerSettings {
  /** Websocket URLs; none: look for the local server. */
  hosts: readonly string[];
  /** The 127.0.0.1 ports where the local server is looked for. */
  localPorts: readonly number[];
  credentials?: Credentials;
  /** Says which server is used, and shows the SDK's own log lines. */
  verbose: boolean;
}

/**
 * Loads the SDK, only now, so --help and usage errors never pay for it, and returns
 * what opens a session with a host. The SDK's log lines go to stderr with --verbose only.
 */
export async function sessionOpener(settings: ServerSettings, stderr: NodeJS.WritableStream): Promise<(host: string) => Session> {
  const { openSession } = await import("./session.js");
  const log = (level: string, message: string) => settings.verbose && stderr.write(`lmc: [sdk ${level}] ${message}\n`);
  return (host) => openSession({ host, credentials: settings.credentials, log });
}

/** Finds LM Studio, opens a session with it for `work`, and always closes it. */
export async function withSession<T>(
  settings: ServerSettings,
  stderr: NodeJS.WritableStream,
  stop: AbortController,
  work: (session: Session, host: string) => Promise<T>,
): Promise<T> {
  const host = settings.hosts[0] ?? (await raceAbort(findServer(settings.localPorts), stop.signal));
  if (settings.verbose) stderr.write(`lmc: using LM Studio at ${host}\n`);
  const session = (await sessionOpener(settings, stderr))(host);
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
      `${startServerAdvice} or give its address with --host / LMC_HOST`,
    ExitCode.unreachable,
  );
}
