// The progress line while the model generates: tokens so far and the rate, a few times a second.

import { describe, expect, it } from "vitest";
import { generationMeter, renderGeneration } from "../../src/terminal/generation-meter.js";
import type { Progress } from "../../src/terminal/progress.js";

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
