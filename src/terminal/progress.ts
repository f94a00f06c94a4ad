// A one-line progress bar on stderr, for a person at a terminal: model loading
// and prompt processing; then, while the model generates and its text does not show
// as it comes (-o FILE, --no-stream, stdout a file), the tokens so far and their
// rate. Never shown in a pipe unless forced (--progress).

export interface Progress {
  /** Shows `label` with `fraction` (0 to 1) done; redraws only when what is shown changes. */
  show(label: string, fraction: number): void;
  /** Shows a line of text instead of a bar (batch mode: done, failed, rate). */
  text(line: string): void;
  /** Removes the bar, leaving the cursor at the start of an empty line. */
  clear(): void;
}

const WIDTH = 24;
/** What renderProgress adds to the label: two spaces, the bracketed bar, a space and "100%". */
const BAR_COLUMNS = 2 + WIDTH + 2 + 1 + 4;

export const noProgress: Progress = { show() {}, text() {}, clear() {} };

export function progressBar(stderr: NodeJS.WritableStream & { columns?: number }, { color }: { color: boolean }): Progress {
  let shown = "";
  const draw = (line: string) => {
    if (line === shown) return;
    shown = line;
    stderr.write(`\r\x1b[K${line}`);
  };
  // A line longer than the terminal wraps, and \r then redraws only its last row.
  const room = () => (typeof stderr.columns === "number" && stderr.columns > 1 ? stderr.columns - 1 : Infinity);
  return {
    show: (label, fraction) => draw(label.length + BAR_COLUMNS <= room() ? renderProgress(label, fraction, color) : label.slice(0, room())),
    text: (line) => draw(line.slice(0, room())),
    clear() {
      if (shown === "") return;
      shown = "";
      stderr.write("\r\x1b[K");
    },
  };
}

/** One frame: `loading qwen  [#########---------------]  38%`. Pure. */
export function renderProgress(label: string, fraction: number, color: boolean): string {
  const done = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(done * WIDTH);
  const bar = "#".repeat(filled) + "-".repeat(WIDTH - filled);
  const percent = `${Math.floor(done * 100)}%`.padStart(4);
  return color ? `${label}  \x1b[36m[${bar}]\x1b[39m ${percent}` : `${label}  [${bar}] ${percent}`;
}

/** A person reads a few updates a second; more would only cost writes to the terminal. */
const REDRAW_MS = 250;

/**
 * Returns what to call with each fragment's token count; draws on `progress`, at most
 * every REDRAW_MS. Made only when the progress line is shown, so a run in a pipe
 * neither counts tokens nor computes a rate.
 */
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
