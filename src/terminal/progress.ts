// A one-line progress bar on stderr, for a person at a terminal: model loading
// and prompt processing. Never shown in a pipe unless forced (--progress).

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
