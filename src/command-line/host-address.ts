// --host and LMC_HOST: an address as a user may write it, checked and turned into
// the websocket URL the SDK takes, always with its port written out.

import { UsageError } from "../errors.js";

/** The port LM Studio's server listens on unless told otherwise. */
const LM_STUDIO_PORT = 1234;

/**
 * A TLS address without a port means the web's 443: LM Studio itself serves plain
 * ws:// only, so a wss:// or https:// address is a proxy in front of it, and a
 * proxy with a certificate listens where browsers look.
 */
const TLS_PORT = 443;

/**
 * Accepts ws://, wss://, http://, https://, host:port, a bare host or a bare port;
 * returns a ws(s) URL with an explicit port, so the same server has one spelling.
 * No port means LM Studio's 1234 (443 for wss:// and https://).
 */
export function normalizeHost(input: string, source = "--host"): string {
  const text = input.trim();
  let withScheme = text;
  if (/^\d+$/.test(text)) withScheme = `ws://127.0.0.1:${text}`;
  else if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) withScheme = `ws://${text}`;

  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    // "::1" or "::1:1234": without brackets an IPv6 address cannot be told from its port.
    const ipv6 = /^[^[\]/]*:[^[\]/]*:/.test(text.replace(/^[a-z][a-z0-9+.-]*:\/\//i, ""));
    throw new UsageError(`${source} is not a valid address: "${input}"${ipv6 ? ": an IPv6 address goes in brackets, like [::1]:1234" : ""}`);
  }
  const scheme = { "ws:": "ws:", "http:": "ws:", "wss:": "wss:", "https:": "wss:" }[url.protocol];
  if (!scheme) throw new UsageError(`${source} must be a ws://, wss://, http:// or https:// address, not "${input}"`);
  if (url.username || url.password || url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")) {
    throw new UsageError(`${source} must be just scheme, host and port, like ws://127.0.0.1:1234, not "${input}"`);
  }
  const port = portOf(url, withScheme, scheme);
  if (port === 0) throw new UsageError(`${source} is not a valid address: "${input}": port 0 is no port to connect to`);
  return `${scheme}//${url.hostname}:${port}`;
}

/**
 * The port written in the address, else the default. URL drops a port equal to its
 * scheme's default (80 for ws:// and http://, 443 for wss:// and https://), so "ws://h"
 * and "ws://h:80" both have port "": the text says which was written.
 */
function portOf(url: URL, withScheme: string, scheme: string): number {
  if (url.port) return Number(url.port);
  const authority = withScheme.replace(/^[^:]+:\/\//, "").split(/[/?#]/)[0] ?? "";
  const writtenDefault = /:\d+$/.test(authority.replace(/^\[[^\]]*\]/, ""));
  if (writtenDefault) return url.protocol === "ws:" || url.protocol === "http:" ? 80 : 443;
  return scheme === "wss:" ? TLS_PORT : LM_STUDIO_PORT;
}
