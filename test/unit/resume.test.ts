import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";
import { completedIndex, completedIndexes } from "../../src/resume.js";
import { tempDir } from "../temp-dir.js";

it.each([
  ['{"index":3,"completion":"x"}', 3],
  ['{"index":3,"error":"no","status":1}', undefined],
  ['{"index":3,"completion":"cut', undefined],
  ['{"completion":"x"}', undefined],
  ["", undefined],
])("completedIndex(%j) is %j", (line, expected) => expect(completedIndex(line)).toBe(expected));

it("reads the successful indexes of a file, and none of a file that is not there", async () => {
  const dir = tempDir("resume");
  await writeFile(join(dir, "out.jsonl"), '{"index":0,"completion":""}\n{"index":1,"error":"e"}\n{"index":5,"completion":"x"}\n');
  expect([...(await completedIndexes(join(dir, "out.jsonl")))]).toEqual([0, 5]);
  expect((await completedIndexes(join(dir, "missing.jsonl"))).size).toBe(0);
});
