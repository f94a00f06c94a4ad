// --list's output. Pure.

import type { ModelListing } from "../lmstudio/session.js";
import { oneLine } from "../terminal/terminal-text.js";

/**
 * JSON: one array. On a terminal: key, "loaded" and name in columns. Piped: keys
 * only, one per line, for `xargs` and `while read`.
 */
export function formatListing(models: ModelListing[], { json, terminal }: { json: boolean; terminal: boolean }): string {
  if (json) return JSON.stringify(models) + "\n";
  if (!terminal) return models.map((model) => `${model.key}\n`).join("");
  if (models.length === 0) return "no models are downloaded\n";
  // For a person at a terminal: the server's names are shown, never obeyed.
  const rows = models.map((model) => ({ key: oneLine(model.key), loaded: model.loaded, name: oneLine(model.displayName) }));
  const width = Math.max(...rows.map((row) => row.key.length)) + 2;
  return rows.map((row) => `${row.key.padEnd(width)}${(row.loaded ? "loaded" : "").padEnd(8)}${row.name}\n`).join("");
}
