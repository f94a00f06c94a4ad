import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";
import { carriedRecords, completedIndex, readEarlierOutput } from "../../src/batch/resume.js";
import { tempDir } from "../temp-dir.js";

it.each([
  ['{"index":3,"completion":"x"}', 3],
  ['{"index":3,"completion":""}', 3],
  ['{"index":3,"error":"no","status":1}', undefined],
  // A --timeout item keeps the text that came before its deadline: it is still to be done.
  ['{"index":3,"error":"the deadline of 1 s (--timeout) passed mid-completion","status":124,"completion":"My na"}', undefined],
  ['{"index":3,"completion":"cut', undefined],
  ['{"index":3,"completion":null}', undefined],
  ['{"index":3,"completion":7}', undefined],
  ['{"index":3}', undefined],
  ['{"completion":"x"}', undefined],
  ["", undefined],
])("completedIndex(%j) is %j", (line, expected) => expect(completedIndex(line)).toBe(expected));

it("reads the successful records of a file, and none of a file that is not there", async () => {
  const dir = tempDir("resume");
  await writeFile(join(dir, "out.jsonl"), '{"index":0,"completion":""}\n{"index":1,"error":"e"}\n{"index":5,"completion":"x"}\n');
  const earlier = (await readEarlierOutput(join(dir, "out.jsonl")))!;
  expect([...earlier.done.keys()]).toEqual([0, 5]);
  expect(earlier.cutShort).toBe(false);
  await earlier.close();
  expect(await readEarlierOutput(join(dir, "missing.jsonl"))).toBeUndefined();
});

it("tells a last line cut short, and carries the records over as they were, the unreached ones in index order", async () => {
  const dir = tempDir("resume");
  const lines = ['{"index":7,"completion":"seven"}', '{"index":2,"completion":"two ünïcode"}', '{"index":0,"completion":"zero"}', '{"index":3,"comp'];
  // From 10 on, an order by text ("10" < "7") is not the order by number.
  lines.splice(1, 0, '{"index":10,"completion":"ten"}');
  await writeFile(join(dir, "out.jsonl"), lines.join("\n"));
  const earlier = (await readEarlierOutput(join(dir, "out.jsonl")))!;
  expect(earlier.cutShort).toBe(true);
  const carried = carriedRecords(earlier);
  expect(await carried.record(2)).toBe(lines[2] + "\n");
  const rest: string[] = [];
  for await (const record of carried.rest()) rest.push(record);
  expect(rest).toEqual([lines[3] + "\n", lines[0] + "\n", lines[1] + "\n"]);
  await earlier.close();
});
