// Finding the local LM Studio by asking its greeting endpoint, when no address is
// given. lmc always hands the SDK an explicit address, because the SDK's own
// discovery kills the process with an unhandled rejection when nothing answers
// (lmstudio-js 1.5).

/**
 * Ports a local LM Studio may listen on: the server's usual port, then the ones the
 * SDK's own discovery tries.
 */
export const localPorts = [1234, 41343, 52993, 16141, 39414, 22931] as const;

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
