import { describe, expect, it } from "vitest";
import { progressLine } from "../../src/batch/batch-mode.js";

describe("batch mode's progress line", () => {
  it.each([
    [{ done: 3, failures: 0, skipped: 0, perSecond: 1.25 }, "3 done, 0 failed, 1.3/s"],
    [{ done: 3, toDo: 10, failures: 1, skipped: 0, perSecond: 2 }, "3/10 done, 1 failed, 2.0/s"],
    [{ done: 3, toDo: 7, failures: 0, skipped: 3, perSecond: 0.5 }, "3/7 done, 0 failed, 3 skipped, 0.5/s"],
    [{ done: 0, toDo: 0, failures: 0, skipped: 2, perSecond: 0 }, "0/0 done, 0 failed, 2 skipped, 0.0/s"],
  ])("%o → %s", (counts, line) => expect(progressLine(counts)).toBe(line));
});
