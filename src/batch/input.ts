// Batch mode's input: prompts one per line, NUL-separated, as JSON Lines with
// per-item settings, or one per file. Everything is read as it is needed, so a
// batch of any length runs in bounded memory.

import { readFile } from "node:fs/promises";
import { systemErrorText } from "../errors.js";
import { jsonErrorPosition } from "../json-position.js";
import { lookupTable } from "../lookup-table.js";
import { modelKeySetting, predictionSettings } from "../command-line/prediction-settings.js";

export interface BatchItem {
  index: number;
  /** The item's text: a line, a NUL-separated record, a JSON Lines prompt or a file's contents. */
  text: string;
  /** The file it came from, with --each-file. */
  file?: string;
  /** Settings of this item alone (JSON Lines), by their SDK names. */
  prediction?: Record<string, unknown>;
  model?: string;
  stopStrings?: string[];
  /** Why the item cannot be completed (bad JSON, unreadable file): it gets an error record. */
  problem?: string;
}

export type BatchFormat = "lines" | "nul" | "jsonl";

/**
 * Splits a byte stream at `separator`, pulling chunks only as records are consumed.
 * The chunks of a record not yet ended are kept apart and joined once, when it
 * ends, so a record of any length takes time in proportion to its length.
 */
export async function* splitRecords(source: AsyncIterable<Uint8Array>, separator: number): AsyncGenerator<Uint8Array> {
  let unfinished: Buffer[] = [];
  for await (const bytes of source) {
    const chunk = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let start = 0;
    for (let at = chunk.indexOf(separator); at !== -1; at = chunk.indexOf(separator, start)) {
      const end = chunk.subarray(start, at);
      yield unfinished.length === 0 ? end : Buffer.concat([...unfinished, end]);
      unfinished = [];
      start = at + 1;
    }
    // A copy of a chunk's tail, so the rest of the chunk can be freed.
    if (start < chunk.length) unfinished.push(start === 0 ? chunk : Buffer.from(chunk.subarray(start)));
  }
  if (unfinished.length > 0) yield Buffer.concat(unfinished);
}

/** How many records splitRecords would make of `source`, without keeping any. */
export async function countRecords(source: AsyncIterable<Uint8Array>, separator: number): Promise<number> {
  let count = 0;
  let endsInSeparator = true;
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    for (let at = chunk.indexOf(separator); at !== -1; at = chunk.indexOf(separator, at + 1)) count++;
    endsInSeparator = chunk[chunk.length - 1] === separator;
  }
  return endsInSeparator ? count : count + 1;
}

const decoder = new TextDecoder("utf-8", { fatal: false });

/** The items of stdin in the given format, numbered from 0 in input order. */
export async function* itemsFromStream(source: AsyncIterable<Uint8Array>, format: BatchFormat): AsyncGenerator<BatchItem> {
  let index = 0;
  for await (const record of splitRecords(source, format === "nul" ? 0x00 : 0x0a)) {
    const text = decoder.decode(record);
    if (format === "jsonl") yield jsonItem(index++, text);
    else yield { index: index++, text: format === "lines" ? text.replace(/\r$/, "") : text };
  }
}

/**
 * The file names of `--each-file` with no file words, from stdin: one per line, or
 * NUL-separated (`find … -print0`). A blank line is layout and skipped; an empty
 * NUL-separated name (two NULs in a row) is an item, which fails, so that the
 * indexes after it stay those of the input.
 */
export async function* fileNamesFromStream(source: AsyncIterable<Uint8Array>, nul: boolean): AsyncGenerator<string> {
  for await (const record of splitRecords(source, nul ? 0x00 : 0x0a)) {
    const name = decoder.decode(record);
    if (nul) yield name;
    else if (name.replace(/\r$/, "") !== "") yield name.replace(/\r$/, "");
  }
}

/** One item a file, its contents as the prompt (one trailing newline dropped, as for stdin). */
export async function* itemsFromFiles(files: Iterable<string> | AsyncIterable<string>): AsyncGenerator<BatchItem> {
  let index = 0;
  for await (const file of files) {
    index++;
    if (file === "") {
      yield { index: index - 1, file, text: "", problem: "the file name is empty" };
      continue;
    }
    try {
      yield { index: index - 1, file, text: (await readFile(file, "utf8")).replace(/\r?\n$/, "") };
    } catch (error) {
      yield { index: index - 1, file, text: "", problem: `cannot read ${file}: ${systemErrorText(error)}` };
    }
  }
}

/** Per-item settings JSON Lines may carry, with their SDK names. */
const itemSettings = lookupTable({
  maxTokens: "maxTokens",
  temperature: "temperature",
  topK: "topKSampling",
  topP: "topPSampling",
  minP: "minPSampling",
  repeatPenalty: "repeatPenalty",
});

/**
 * `{"prompt": "...", "model"?: "...", "stop"?: [...], "maxTokens"?: 40, ...}`. A bad
 * line is named by its number and what is wrong, never quoted: the input may not be
 * what the user meant to show.
 */
export function jsonItem(index: number, line: string): BatchItem {
  const problem = (what: string): BatchItem => ({ index, text: "", problem: `line ${index + 1}${what}` });
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    const { column, atEnd } = jsonErrorPosition(line);
    return problem(` is not valid JSON (${atEnd ? "it ends too early" : `column ${column}`})`);
  }
  if (typeof value !== "object" || value === null || typeof (value as { prompt?: unknown }).prompt !== "string") {
    return problem(` has no "prompt" string`);
  }
  const { prompt, model, stop, ...rest } = value as Record<string, unknown>;
  const item: BatchItem = { index, text: prompt as string };
  if (model !== undefined) {
    if (typeof model !== "string" || modelKeySetting.parse(model) === undefined) return problem(`: "model" must be ${modelKeySetting.accepts}`);
    item.model = model;
  }
  if (stop !== undefined) {
    const stops = typeof stop === "string" ? [stop] : stop;
    if (!Array.isArray(stops) || !stops.every((s) => typeof s === "string" && s !== "")) {
      return problem(`: "stop" must be a string or a list of non-empty strings`);
    }
    item.stopStrings = stops;
  }
  for (const [name, setting] of Object.entries(rest)) {
    const key = itemSettings[name];
    // A field name is the input's shape, not its content: it is named when it looks like one.
    if (!key) return problem(`: unknown field${/^\w{1,40}$/.test(name) ? ` "${name}"` : ""}; known: prompt, model, stop, ${Object.keys(itemSettings).join(", ")}`);
    const rule = predictionSettings[key]!;
    const parsed = rule.parse(String(setting));
    if (parsed === undefined) return problem(`: "${name}" must be ${rule.accepts}`);
    (item.prediction ??= {})[key] = parsed;
  }
  return item;
}
