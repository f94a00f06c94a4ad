// Finding the local LM Studio by asking its greeting endpoint, when no address is
// given. lmc always hands the SDK an explicit address, because the SDK's own
// discovery kills the process with an unhandled rejection when nothing answers
// (lmstudio-js 1.5). A server that answers is used only when its listening socket
// is the user's own or root's (socket-owners.ts): another local user can listen on a
// free port of the list, and would receive the API token and the prompt.

import { listenerOwners, readTcpTables, type TcpTables } from "./socket-owners.js";

/**
 * Ports a local LM Studio may listen on: the server's usual port, then the ones the
 * SDK's own discovery tries.
 */
export const localPorts = [1234, 41343, 52993, 16141, 39414, 22931] as const;

/** The greeting URL of an LM Studio websocket address. */
export function greetingUrl(wsUrl: string): string {
  return `${wsUrl.replace(/^ws/, "http")}/lmstudio-greeting`;
}

/** A server that answered as LM Studio but was not used: its socket is not the user's. */
interface UntrustedServer {
  url: string;
  /** The owners of the sockets listening there (none: none was found). */
  owners: number[];
}

interface LocalSearch {
  /** The server to use, if any. */
  url?: string;
  /** Servers that answered before it (in the order of the ports) and were skipped. */
  untrusted: UntrustedServer[];
  /** Set when the owners could not be checked (no /proc/net/tcp): what answered was trusted. */
  unchecked?: true;
}

/**
 * Asks each local port at once whether LM Studio is there; resolves with the first,
 * in the order of `ports`, that answers within `timeoutMs` and whose listening socket
 * belongs to the effective user or to root. Where the owners cannot be known (no
 * /proc/net, as on macOS and Windows), the first that answers.
 */
export async function findLocalServer(
  ports: readonly number[] = localPorts,
  // Only a port that accepts and then says nothing makes this wait (a closed one
  // refuses at once); 700 ms was too short for a server on a machine busy with other
  // work (seen: a test suite beside two benchmarks), so it was not found.
  timeoutMs = 2000,
  hostname = "127.0.0.1",
  tcpTables: () => Promise<TcpTables | undefined> = readTcpTables,
): Promise<LocalSearch> {
  const candidates = ports.map((port) => ({ port, url: `ws://${hostname}:${port}` }));
  const answers = await Promise.all(candidates.map(({ url }) => isLmStudio(url, timeoutMs)));
  const answered = candidates.filter((_, i) => answers[i]);
  if (answered.length === 0) return { untrusted: [] };
  // Read after the greetings, so that the owners are those of the sockets that answered.
  const tables = await tcpTables();
  const uid = process.geteuid?.();
  if (tables === undefined || uid === undefined) return { url: answered[0]!.url, untrusted: [], unchecked: true };
  const untrusted: UntrustedServer[] = [];
  for (const { port, url } of answered) {
    const owners = listenerOwners(tables, port, hostname);
    if (owners.length > 0 && owners.every((owner) => owner === uid || owner === 0)) return { url, untrusted };
    untrusted.push({ url, owners });
  }
  return { untrusted };
}

async function isLmStudio(wsUrl: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(greetingUrl(wsUrl), { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return false;
    const body = (await response.json()) as { lmstudio?: unknown };
    return body?.lmstudio === true;
  } catch {
    return false;
  }
}
