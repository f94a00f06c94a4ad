// While the model generates and its text does not show as it comes (-o FILE,
// --no-stream, stdout a file), the progress line says how far it is:
// "generating: 312 tokens, 41.5 tok/s". Made only when the progress line is shown,
// so a run in a pipe neither counts nor computes a rate.

import type { Progress } from "./progress.js";

/** A person reads a few updates a second; more would only cost writes to the terminal. */
const REDRAW_MS = 250;

/** Returns what to call with each fragment's token count; draws on `progress`, at most every REDRAW_MS. */
export function generationMeter(progress: Progress, now: () => number = () => performance.now()): (tokens: number) => void {
  let tokens = 0;
  let started: { at: number; tokens: number } | undefined;
  let drawnAt = -Infinity;
  return (fragmentTokens) => {
    tokens += Number.isFinite(fragmentTokens) && fragmentTokens > 0 ? fragmentTokens : 0;
    const time = now();
    // The rate counts from the first fragment: what came before it was loading and the prompt.
    started ??= { at: time, tokens };
    if (time - drawnAt < REDRAW_MS) return;
    drawnAt = time;
    progress.text(renderGeneration(tokens, tokens - started.tokens, (time - started.at) / 1000));
  };
}

/** One frame: `generating: 312 tokens, 41.5 tok/s`; no rate until time has passed. Pure. */
export function renderGeneration(tokens: number, tokensSinceFirst: number, seconds: number): string {
  const count = `generating: ${tokens} ${tokens === 1 ? "token" : "tokens"}`;
  return seconds > 0 ? `${count}, ${(tokensSinceFirst / seconds).toFixed(1)} tok/s` : count;
}
