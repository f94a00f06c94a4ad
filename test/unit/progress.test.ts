import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { generationMeter, progressBar, renderGeneration, renderProgress, type Progress } from "../../src/terminal/progress.js";

describe("renderProgress", () => {
  it.each([
    [0, "loading m  [------------------------]   0%"],
    [0.5, "loading m  [############------------]  50%"],
    [1, "loading m  [########################] 100%"],
    [2, "loading m  [########################] 100%"],
    [Number.NaN, "loading m  [------------------------]   0%"],
  ])("%d", (fraction, expected) => expect(renderProgress("loading m", fraction, false)).toBe(expected));

  it("colours the bar only when asked", () => {
    expect(renderProgress("x", 0.5, true)).toContain("\x1b[36m[");
    expect(renderProgress("x", 0.5, false)).not.toContain("\x1b");
  });
});

describe("progressBar", () => {
  it("redraws only on change and clears the line", () => {
    const stream = new PassThrough();
    let written = "";
    stream.on("data", (chunk) => (written += chunk));
    const bar = progressBar(stream, { color: false });
    bar.show("loading", 0.5);
    bar.show("loading", 0.501);
    bar.show("loading", 1);
    bar.clear();
    bar.clear();
    expect(written.split("\r\x1b[K")).toEqual(["", "loading  [############------------]  50%", "loading  [########################] 100%", ""]);
  });

  it("fits a narrow terminal: the bar goes first, then the end of the text", () => {
    const stream = Object.assign(new PassThrough(), { columns: 30 });
    let written = "";
    stream.on("data", (chunk) => (written += chunk));
    const bar = progressBar(stream, { color: false });
    bar.show("3/9 done", 1 / 3);
    bar.text("123456/200000 done, 0 failed, 3846.2/s");
    const frames = written.split("\r\x1b[K").slice(1);
    expect(frames).toEqual(["3/9 done", "123456/200000 done, 0 failed,"]);
    for (const frame of frames) expect(frame.length).toBeLessThan(30);
    const wide = Object.assign(new PassThrough(), { columns: 80 });
    let wideWritten = "";
    wide.on("data", (chunk) => (wideWritten += chunk));
    progressBar(wide, { color: false }).show("3/9 done", 1 / 3);
    expect(wideWritten).toBe("\r\x1b[K3/9 done  [########----------------]  33%");
  });
});

describe("renderGeneration", () => {
  it.each([
    [1, 0, 0, "generating: 1 token"],
    [0, 0, 0, "generating: 0 tokens"],
    [312, 311, 7.5, "generating: 312 tokens, 41.5 tok/s"],
    [2, 1, 0.25, "generating: 2 tokens, 4.0 tok/s"],
  ])("%d tokens, %d since the first in %d s", (tokens, since, seconds, expected) => expect(renderGeneration(tokens, since, seconds)).toBe(expected));
});

describe("generationMeter", () => {
  const recorder = () => {
    const lines: string[] = [];
    const progress: Progress = { show() {}, text: (line) => lines.push(line), clear() {} };
    return { lines, progress };
  };

  it("draws at the first fragment, then at most every 250 ms, the rate counted from the first fragment", () => {
    const { lines, progress } = recorder();
    let clock = 1000;
    const fragment = generationMeter(progress, () => clock);
    fragment(1);
    // 180 ms more: not yet
    for (let i = 0; i < 9; i++) {
      clock += 20;
      fragment(1);
    }
    clock = 1250;
    fragment(1);
    expect(lines).toEqual(["generating: 1 token", "generating: 11 tokens, 40.0 tok/s"]);
  });

  it("counts a fragment of several tokens by its count, and ignores counts that are no count", () => {
    const { lines, progress } = recorder();
    let clock = 0;
    const fragment = generationMeter(progress, () => clock);
    fragment(3);
    clock = 500;
    fragment(Number.NaN);
    clock = 1000;
    fragment(-5);
    clock = 1500;
    fragment(2);
    expect(lines.at(-1)).toBe("generating: 5 tokens, 1.3 tok/s");
  });
});
