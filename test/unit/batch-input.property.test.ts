// Property-based tests of batch mode's input: items joined with their separator
// (newline, or NUL for -0), cut into chunks anywhere, read back as they were;
// JSON Lines items written out and read back; --each-file's items numbered by
// their place, readable or not. A failure prints fast-check's seed and the
// smallest input that breaks.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { countRecords, fileNamesFromStream, itemsFromFiles, itemsFromStream, jsonItem, splitRecords } from "../../src/batch/input.js";
import { escapeText, parseEscapes } from "../../src/lib/escapes.js";
import { modelKeySetting } from "../../src/command-line/setting-types.js";
import { tempDir } from "../temp-dir.js";

const runs = { numRuns: 200 };

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const value of source) all.push(value);
  return all;
}

/** `bytes` cut at `cuts` (positions taken modulo its length; empty chunks too), as a stream gives it. */
async function* chunked(bytes: Buffer, cuts: number[]): AsyncGenerator<Uint8Array> {
  const at = cuts.map((cut) => cut % (bytes.length + 1)).sort((a, b) => a - b);
  let start = 0;
  for (const end of [...at, bytes.length]) {
    yield bytes.subarray(start, end);
    start = end;
  }
}

/** Text heavy in what matters here: newlines, NULs, CRs, multi-byte characters. */
const itemText = fc.string({
  unit: fc.oneof(fc.constantFrom("\n", "\0", "\r", "a", " "), fc.string({ unit: "binary", minLength: 1, maxLength: 1 })),
  maxLength: 8,
});
const cuts = fc.array(fc.nat(), { maxLength: 6 });

/**
 * Items and how they are written: each followed by the separator, or joined by it
 * with none at the end (as `printf 'a\0b'` writes them). Unended, a last empty item
 * cannot be told from no item at all, so the last is then not empty.
 */
function itemsWith(separator: string) {
  return fc
    .record({
      items: fc.array(
        itemText.map((text) => text.replaceAll(separator, "")),
        { maxLength: 8 },
      ),
      ended: fc.boolean(),
    })
    .map(({ items, ended }) => ({ items, ended: ended || items.length === 0 || items.at(-1) === "" }))
    .map(({ items, ended }) => ({ items, text: ended ? items.map((item) => item + separator).join("") : items.join(separator) }));
}

describe("--each and --each -0, property-based", () => {
  it.each([
    ["lines", "\n"],
    ["nul", "\0"],
  ] as const)("%s: items joined with their separator, with or without a last one, come back as they were, numbered in order", async (format, separator) => {
    await fc.assert(
      fc.asyncProperty(itemsWith(separator), cuts, async ({ items, text }, at) => {
        const read = await collect(itemsFromStream(chunked(Buffer.from(text), at), format));
        // Lines lose one CR before their newline (text from Windows); NUL-separated items keep everything.
        const expected = items.map((item, index) => ({ index, text: format === "lines" ? item.replace(/\r$/, "") : item }));
        expect(read).toEqual(expected);
      }),
      runs,
    );
  });

  it("countRecords counts what splitRecords makes, however the bytes are cut", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes.map((b) => (b % 4 === 0 ? 0x0a : b)))),
        cuts,
        async (bytes, at) => {
          const made = await collect(splitRecords(chunked(bytes, at), 0x0a));
          expect(await countRecords(chunked(bytes, at), 0x0a)).toBe(made.length);
          // And the records with their separators are the bytes again.
          expect(Buffer.concat(made.flatMap((record) => [record, Buffer.from("\n")])).toString("hex")).toBe(
            (bytes.length === 0 || bytes.at(-1) === 0x0a ? bytes : Buffer.concat([bytes, Buffer.from("\n")])).toString("hex"),
          );
        },
      ),
      runs,
    );
  });
});

describe("--each-file's names on stdin, property-based", () => {
  it.each([
    ["one per line", false, "\n"],
    ["NUL-separated (-0)", true, "\0"],
  ] as const)("%s: names joined with their separator come back as they were", async (_, nul, separator) => {
    // Names are never empty here (what an empty name means is the caller's business),
    // and one per line, a CR at the end is the line's (text from Windows), not the name's.
    const name = itemText.map((text) => text.replaceAll(separator, "")).filter((text) => text !== "" && (nul || !text.endsWith("\r")));
    const names = fc.array(name, { maxLength: 6 });
    await fc.assert(
      fc.asyncProperty(names, fc.boolean(), cuts, async (list, ended, at) => {
        const text = ended ? list.map((name) => name + separator).join("") : list.join(separator);
        expect(await collect(fileNamesFromStream(chunked(Buffer.from(text), at), nul))).toEqual(list);
      }),
      runs,
    );
  });
});

describe("--each-file, property-based", () => {
  it("numbers every file by its place, the unreadable ones too, wherever they stand", async () => {
    const dir = tempDir("each-file-property");
    let made = 0;
    const file = fc.record({ readable: fc.boolean(), text: itemText });
    await fc.assert(
      fc.asyncProperty(fc.array(file, { minLength: 1, maxLength: 6 }), async (files) => {
        const paths = files.map(({ readable, text }) => {
          const path = join(dir, `f${made++}`);
          if (readable) writeFileSync(path, text);
          return path;
        });
        const items = await collect(itemsFromFiles(paths));
        expect(items.map((item) => [item.index, item.file])).toEqual(paths.map((path, index) => [index, path]));
        for (const [index, { readable, text }] of files.entries()) {
          if (readable) expect(items[index]).toEqual({ index, file: paths[index], text: text.replace(/\r?\n$/, "") });
          else expect(items[index]).toMatchObject({ index, text: "", problem: expect.stringMatching(/^cannot read .*: /) });
        }
      }),
      { numRuns: 60 },
    );
  });
});

/** A stop string as written in JSON Lines: any text but NUL, its backslashes, newlines and tabs as escapes or as they are. */
const stopText = fc.oneof(
  fc.string({ minLength: 1, maxLength: 4 }).filter((text) => !text.includes("\\") && !text.includes("\0")),
  fc
    .string({ minLength: 1, maxLength: 4 })
    .filter((text) => !text.includes("\0"))
    .map(escapeText),
);

/** A JSON Lines item with every field it may carry, each optional but the prompt. */
const jsonLinesItem = fc.record(
  {
    prompt: fc.string({ unit: "binary", maxLength: 12 }),
    id: fc.jsonValue({ maxDepth: 3 }),
    model: fc.string({ unit: "binary", minLength: 1, maxLength: 12 }).filter((key) => modelKeySetting.parse(key) !== undefined),
    stop: fc.oneof(stopText, fc.array(stopText, { maxLength: 3 })),
    maxTokens: fc.oneof(fc.integer({ min: 1, max: 1_000_000 }), fc.constant(false)),
    // + 0: -0 would be written "0" and read back as 0.
    temperature: fc.double({ min: 0, max: 1e6, noNaN: true }).map((x) => x + 0),
    topK: fc.integer({ min: 0, max: 500 }),
    topP: fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x + 0),
    minP: fc.oneof(
      fc.double({ min: 0, max: 1, noNaN: true }).map((x) => x + 0),
      fc.constant(false),
    ),
    repeatPenalty: fc.double({ min: Number.MIN_VALUE, max: 10, noNaN: true }),
    chat: fc.boolean(),
    system: fc.string({ unit: "binary", minLength: 1, maxLength: 12 }),
  },
  { requiredKeys: ["prompt"] },
);

type JsonLinesFields = typeof jsonLinesItem extends fc.Arbitrary<infer T> ? T : never;

/** What lmc makes of such an item: the reference, field by field. */
function expectedItem(index: number, fields: JsonLinesFields) {
  const { prompt, id, model, stop, chat, system, ...settings } = fields;
  const sdkNames: Record<string, string> = {
    maxTokens: "maxTokens",
    temperature: "temperature",
    topK: "topKSampling",
    topP: "topPSampling",
    minP: "minPSampling",
    repeatPenalty: "repeatPenalty",
  };
  const prediction = Object.fromEntries(Object.entries(settings).map(([name, value]) => [sdkNames[name]!, value]));
  return {
    index,
    // As JSON gives it back (-0 is written 0).
    ...("id" in fields ? { id: JSON.parse(JSON.stringify(id)) as unknown } : {}),
    text: prompt,
    ...(model === undefined ? {} : { model }),
    ...(stop === undefined ? {} : { stopStrings: (typeof stop === "string" ? [stop] : stop).map(parseEscapes) }),
    ...(chat === undefined ? {} : { chat }),
    ...(system === undefined ? {} : { system }),
    ...(Object.keys(prediction).length === 0 ? {} : { prediction }),
  };
}

/** Field names a JSON Lines line may carry, known or not. */
const fieldName = fc.oneof(
  fc.constantFrom("prompt", "id", "model", "stop", "chat", "system", "maxTokens", "temperature", "topK", "topP", "minP", "repeatPenalty", "max_tokens", ""),
  fc.constantFrom("__proto__", "constructor", "hasOwnProperty", "toString", "valueOf"),
  fc.string({ maxLength: 6 }),
);

describe("--each-jsonl, property-based", () => {
  it("any item written as JSON is read back with its settings under their SDK names", () => {
    fc.assert(
      fc.property(fc.nat({ max: 1_000_000 }), jsonLinesItem, (index, fields) => {
        expect(jsonItem(index, JSON.stringify(fields))).toEqual(expectedItem(index, fields));
      }),
      runs,
    );
  });

  it("any line at all is an item or a problem named by its line number, never an exception", () => {
    const objectLine = fc.dictionary(fieldName, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).map((object) => JSON.stringify(object));
    fc.assert(
      fc.property(fc.nat({ max: 1000 }), fc.oneof(fc.string(), fc.json({ maxDepth: 2 }), objectLine), (index, line) => {
        const item = jsonItem(index, line);
        expect(item.index).toBe(index);
        if (item.problem === undefined) expect(typeof item.text).toBe("string");
        else {
          const { id, ...rest } = item;
          expect(rest).toEqual({ index, text: "", problem: expect.stringMatching(new RegExp(`^line ${index + 1}[ :]`)) });
          // A line that parsed keeps its id, whatever went wrong after.
          const parsed = (() => {
            try {
              return JSON.parse(line) as unknown;
            } catch {
              return undefined;
            }
          })();
          const hasId = typeof parsed === "object" && parsed !== null && Object.hasOwn(parsed, "id");
          expect("id" in item).toBe(hasId);
          if (hasId) expect(id).toEqual((parsed as { id: unknown }).id);
        }
      }),
      runs,
    );
  });
});
