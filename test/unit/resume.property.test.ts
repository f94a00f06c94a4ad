// Property-based tests of the --resume reader: records of every kind an earlier
// run may have left (done, failed, failed with a partial completion, cut short,
// not JSON) written to a file and read back against a plain reference of what
// counts as done. A failure prints fast-check's seed and the smallest file that breaks.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { carriedRecords, completedIndex, readEarlierOutput } from "../../src/batch/resume.js";
import { tempDir } from "../temp-dir.js";

/** A line an earlier batch run may have written, and whether it marks its item done. */
const index = fc.nat({ max: 30 }); // from 10 on, an order by text differs from the order by number
const text = fc.string({ unit: "binary", maxLength: 8 });
const line = fc.oneof(
  fc.record({ index, completion: text, stats: fc.constant({}) }).map((record) => ({ text: JSON.stringify(record), done: record.index })),
  fc.record({ index, completion: text, file: text }).map((record) => ({ text: JSON.stringify(record), done: record.index })),
  fc.record({ index, error: text, status: fc.constantFrom(1, 2, 124) }).map((record) => ({ text: JSON.stringify(record), done: undefined })),
  // A --timeout item keeps what came before its deadline: still not done.
  fc.record({ index, error: text, status: fc.constant(124), completion: text }).map((record) => ({ text: JSON.stringify(record), done: undefined })),
  fc.record({ index, completion: fc.constantFrom(null, 7, [], {}) }).map((record) => ({ text: JSON.stringify(record), done: undefined })),
  // Any whole number counts (-1 marks no item of this run's input; its record is carried over as it was).
  fc.record({ index: fc.constantFrom(-1, 1.5, "3", null), completion: text }).map((record) => ({ text: JSON.stringify(record), done: doneBy(record) })),
  fc.constantFrom("", "not json", "[]", "null", '"x"', "{}").map((junk) => ({ text: junk, done: undefined })),
);

/** The reference: what a record says of its item, in the plainest terms. */
function doneBy(record: unknown): number | undefined {
  if (typeof record !== "object" || record === null || Array.isArray(record)) return undefined;
  const { index, error, completion } = record as Record<string, unknown>;
  return Number.isInteger(index) && error === undefined && typeof completion === "string" ? (index as number) : undefined;
}

describe("completedIndex, property-based", () => {
  it("agrees with the reference on any JSON, and on any text at all", () => {
    const field = fc.oneof(fc.constant(undefined), fc.jsonValue({ maxDepth: 1 }), fc.integer(), fc.string());
    const record = fc.record({ index: field, error: field, completion: field }, { requiredKeys: [] }).map((r) => JSON.stringify(r));
    fc.assert(
      fc.property(fc.oneof(record, fc.json({ maxDepth: 2 }), fc.string()), (lineText) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(lineText);
        } catch {
          parsed = undefined;
        }
        expect(completedIndex(lineText)).toBe(doneBy(parsed));
      }),
      { numRuns: 300 },
    );
  });
});

describe("readEarlierOutput and carriedRecords, property-based", () => {
  it("find exactly the done items, each with its last record, and carry the rest over in index order", async () => {
    const dir = tempDir("resume-property");
    let files = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 14 }),
        fc.option(fc.constantFrom('{"index":3,"completion":"cut sh', "{", '{"index":'), { nil: undefined }),
        fc.array(index, { maxLength: 6 }),
        async (lines, cutShort, reached) => {
          const file = join(dir, `out${files++}.jsonl`);
          writeFileSync(file, lines.map((l) => l.text + "\n").join("") + (cutShort ?? ""));
          const lastRecord = new Map<number, string>();
          for (const { text, done } of lines) if (done !== undefined) lastRecord.set(done, text);

          const earlier = (await readEarlierOutput(file))!;
          try {
            expect([...earlier.done.keys()].sort((a, b) => a - b)).toEqual([...lastRecord.keys()].sort((a, b) => a - b));
            expect(earlier.cutShort).toBe(cutShort !== undefined);
            // This run reaches some items (their records are carried as it meets them), the rest come at the end.
            const carried = carriedRecords(earlier);
            const met = [...new Set(reached)].filter((i) => lastRecord.has(i));
            for (const i of met) expect(await carried.record(i)).toBe(lastRecord.get(i) + "\n");
            const rest: string[] = [];
            for await (const record of carried.rest()) rest.push(record);
            const unreached = [...lastRecord.keys()].filter((i) => !met.includes(i)).sort((a, b) => a - b);
            expect(rest).toEqual(unreached.map((i) => lastRecord.get(i) + "\n"));
          } finally {
            await earlier.close();
          }
        },
      ),
      { numRuns: 80 },
    );
  });
});
