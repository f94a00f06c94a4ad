// --list's output. Pure.

import type { ModelListing } from "./lmstudio.js";

/**
 * JSON: one array. On a terminal: key, "loaded" and name in columns. Piped: keys
 * only, one per line, for `xargs` and `while read`.
 */
export function formatListing(models: ModelListing[], { json, terminal }: { json: boolean; terminal: boolean }): string {
  if (json) return JSON.stringify(models) + "\n";
  if (!terminal) return models.map((model) => `${model.key}\n`).join("");
  if (models.length === 0) return "no models are downloaded\n";
  const width = Math.max(...models.map((model) => model.key.length)) + 2;
  return models
    .map((model) => `${model.key.padEnd(width)}${(model.loaded ? "loaded" : "").padEnd(8)}${model.displayName}\n`)
    .join("");
}
