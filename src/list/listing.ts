// --list's output. Pure.

import type { ModelListing } from "../lmstudio/session.js";
import { oneLine } from "../terminal/terminal-text.js";

/** Backslash and the C0, DEL and C1 control characters: what a piped key line escapes. */
const escapedInKeys = /[\\\x00-\x1f\x7f-\x9f]/g;
const shortEscapes = new Map([
  ["\\", "\\\\"],
  ["\n", "\\n"],
  ["\t", "\\t"],
]);

/**
 * A model key as one line of the piped listing: a backslash is written \\, a newline
 * \n, a tab \t, any other C0 control or DEL \xHH and a C1 control \u00HH, so that
 * every key is one line, and `printf '%b'` (in bash, zsh, fish or coreutils) gives
 * the key back byte for byte. A key without them is written as it is.
 */
export function escapeKey(key: string): string {
  return key.replace(escapedInKeys, (char) => {
    const code = char.charCodeAt(0);
    return shortEscapes.get(char) ?? (code < 0x80 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u00${code.toString(16)}`);
  });
}

/**
 * JSON: one array. On a terminal: key, "loaded" and name in columns. Piped: keys
 * only, one per line, for `fzf`, `xargs` and `while read`. Keys are escaped by
 * escapeKey in both, so that the terminal shows what the pipe gives.
 */
export function formatListing(models: ModelListing[], { json, terminal }: { json: boolean; terminal: boolean }): string {
  if (json) return JSON.stringify(models) + "\n";
  if (!terminal) return models.map((model) => `${escapeKey(model.key)}\n`).join("");
  if (models.length === 0) return "no models are downloaded\n";
  // For a person at a terminal: the server's names are shown, never obeyed.
  const rows = models.map((model) => ({ key: escapeKey(model.key), loaded: model.loaded, name: oneLine(model.displayName) }));
  const width = Math.max(...rows.map((row) => row.key.length)) + 2;
  return rows.map((row) => `${row.key.padEnd(width)}${(row.loaded ? "loaded" : "").padEnd(8)}${row.name}\n`).join("");
}
