// A session's lifetime: which server (the one given, or the local one found), the
// session opened with it, and always closed. The SDK is loaded only here, on first use.

import { raceAbort, settleWithin } from "../lib/abort.js";
import { ExitCode, LmcError } from "../errors.js";
import type { Io } from "../io.js";
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

/** What a session reports to: stderr, and the run's timeline (NODE_DEBUG=lmc). */
type SessionIo = Pick<Io, "stderr" | "mark">;

/**
 * Loads the SDK, only now, so --help and usage errors never pay for it, and returns
 * what opens a session with a host. The SDK's log lines go to stderr with --verbose only.
 */
export async function sessionOpener(settings: ServerSettings, io: SessionIo): Promise<(host: string) => Session> {
  const { openSession } = await import("./session.js");
  io.mark?.("SDK loaded"); // and initialised: importing session.js requires it
  const log = (level: string, message: string) => settings.verbose && io.stderr.write(`lmc: [sdk ${level}] ${message}\n`);
  const notice = (message: string) => io.stderr.write(`lmc: ${message}\n`);
  return (host) => openSession({ host, credentials: settings.credentials, log, notice, onStep: io.mark });
}

/** Finds LM Studio, opens a session with it for `work`, and always closes it. */
export async function withSession<T>(
  settings: ServerSettings,
  io: SessionIo,
  stop: AbortController,
  work: (session: Session, host: string) => Promise<T>,
): Promise<T> {
  const host = settings.hosts[0] ?? (await raceAbort(findServer(settings, io.stderr), stop.signal));
  if (settings.verbose) io.stderr.write(`lmc: using LM Studio at ${host}\n`);
  const session = (await sessionOpener(settings, io))(host);
  try {
    return await work(session, host);
  } finally {
    await settleWithin(session.close(), 500);
  }
}

/** The local server, found on the ports of the settings; with --verbose, says which were skipped and why. */
async function findServer(settings: ServerSettings, stderr: NodeJS.WritableStream): Promise<string> {
  const ports = settings.localPorts;
  const search = await findLocalServer(ports);
  if (settings.verbose) {
    for (const { url, owners } of search.untrusted) stderr.write(`lmc: not using ${url}: ${untrustedReason(owners)}\n`);
    if (search.unchecked) stderr.write(`lmc: cannot tell who owns ${search.url}'s socket (no /proc/net/tcp here): trusted as found\n`);
  }
  if (search.url) return search.url;
  const skipped = search.untrusted.map(({ url }) => new URL(url).port);
  throw new LmcError(
    `cannot find LM Studio on this machine (tried 127.0.0.1 ports ${ports.join(", ")}` +
      (skipped.length > 0 ? `; ${skipped.join(", ")} ${skipped.length === 1 ? "is another user's server" : "are other users' servers"}, not trusted` : "") +
      `): ${startServerAdvice} or give its address with --host / LMC_HOST`,
    ExitCode.unreachable,
  );
}

function untrustedReason(owners: readonly number[]): string {
  const you = `you (uid ${process.geteuid?.()}) or root`;
  if (owners.length === 0) return `it answers as LM Studio, but no socket listening there was found to belong to ${you}`;
  return `it answers as LM Studio, but its socket belongs to uid ${[...new Set(owners)].join(", ")}, not to ${you}`;
}
