import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { progressBar, renderProgress } from "../../src/terminal/progress.js";

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
