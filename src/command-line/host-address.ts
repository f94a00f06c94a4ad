// --host and LMC_HOST: an address as a user may write it, checked and turned into
// the websocket URL the SDK takes.

import { UsageError } from "../errors.js";

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
