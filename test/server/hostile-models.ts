// Model keys that a hostile server (or another user listening where LM Studio should
// be) may offer, each naming a way a shell could take a key for more than text: a
// command substitution, backticks, a command separator, quotes, spaces, a newline, a
// glob, a leading dash, a tab, backslashes, a NUL, escape sequences, a tilde, a
// variable and a brace expansion. Each key's first letter differs where it can, so that
// one letter completes to one key. `lmc --list` and the shell completions are tested
// with them (test/e2e/completion-hostile-keys.test.ts, list.test.ts).

import { TINY_MODEL_PATH, type CatalogEntry } from "./model-catalog.js";

/** The files a key would create if a shell ran it (relative to the shell's directory). */
export const hostileMarkers = ["pwned-a", "pwned-b", "pwned-c"] as const;

export const hostileKeys: readonly string[] = [
  "a$(touch pwned-a)b",
  "b`touch pwned-b`",
  "c;touch pwned-c",
  `don't "quote"`,
  "e with  spaces",
  "f new\nline",
  "*",
  "-dash",
  "g\ttab",
  "h\\back\\x00slash\\",
  "i\u0000nul",
  "j\u009bc1",
  "k\u001b[31mescape",
  "~root",
  "$HOME",
  "{l,m}",
];

/** The hostile keys as a catalog of the tiny model, none loaded, plus lmc-tiny loaded. */
export function hostileCatalog(): CatalogEntry[] {
  return [{ key: "lmc-tiny", path: TINY_MODEL_PATH, loaded: true }, ...hostileKeys.map((key) => ({ key, path: TINY_MODEL_PATH, loaded: false }))];
}
