// A stop string as the user writes it, after --stop or in a JSON Lines "stop": its
// escapes read (lib/escapes.ts), so that `--stop '\n'` stops at the end of the line
// where the shell (make's /bin/sh) cannot give a newline.

import { EscapeError, parseEscapes } from "../lib/escapes.js";

/**
 * The stop string `text` stands for. Throws an EscapeError for an escape that is not
 * known, and for NUL: LM Studio takes stop strings as text, and a model writes no NUL,
 * so a stop with one in it could never be found.
 */
export function parseStopString(text: string): string {
  const stop = parseEscapes(text);
  if (stop.includes("\0")) throw new EscapeError("holds NUL (\\0), which no completion holds: a stop string is text");
  return stop;
}
