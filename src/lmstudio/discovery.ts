// Where LM Studio is: the address the user gave, or the local server found by
// asking its greeting endpoint. lmc always hands the SDK an explicit address,
// because the SDK's own discovery kills the process with an unhandled rejection
// when nothing answers (lmstudio-js 1.5).

import { UsageError } from "../errors.js";

/**
 * Ports a local LM Studio may listen on: the server's usual port, then the ones the
 * SDK's own discovery tries.
 */
export const localPorts = [1234, 41343, 52993, 16141, 39414, 22931] as const;

/** Accepts ws://, wss://, http://, https://, host:port or a bare port; returns a ws(s) URL. */
export function normalizeHost(input: string, source = "--host"): string {
  const text = input.trim();
  let withScheme = text;
  if (/^\d+$/.test(text)) withScheme = `ws://127.0.0.1:${text}`;
  else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) withScheme = `ws://${text}`;

  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(`${source} is not a valid address: "${input}"`);
  }
  const scheme = { "ws:": "ws:", "http:": "ws:", "wss:": "wss:", "https:": "wss:" }[url.protocol];
  if (!scheme) throw new UsageError(`${source} must be a ws://, wss://, http:// or https:// address, not "${input}"`);
  if (url.username || url.password || url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")) {
    throw new UsageError(`${source} must be just scheme, host and port, like ws://127.0.0.1:1234, not "${input}"`);
  }
  return `${scheme}//${url.host}`;
}

/** The greeting URL of an LM Studio websocket address. */
export function greetingUrl(wsUrl: string): string {
  return `${wsUrl.replace(/^ws/, "http")}/lmstudio-greeting`;
}

/**
 * Asks each local port at once whether LM Studio is there; resolves with the
 * first in the order of `ports` that answers, or undefined within `timeoutMs`.
 */
export async function findLocalServer(
  ports: readonly number[] = localPorts,
  timeoutMs = 700,
  hostname = "127.0.0.1",
): Promise<string | undefined> {
  const candidates = ports.map((port) => `ws://${hostname}:${port}`);
  const answers = await Promise.all(candidates.map((url) => isLmStudio(url, timeoutMs)));
  return candidates[answers.indexOf(true)];
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
