// Batch mode's input: prompts one per line, NUL-separated, as JSON Lines with
// per-item settings, or one per file. Everything is read as it is needed, so a
// batch of any length runs in bounded memory.

import { readFile } from "node:fs/promises";
import { parseSetting } from "./prediction-config.js";

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

/** Splits a byte stream at `separator`, pulling chunks only as records are consumed. */
export async function* splitRecords(source: AsyncIterable<Uint8Array>, separator: number): AsyncGenerator<Uint8Array> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of source) {
    let buffer = rest.length === 0 ? Buffer.from(chunk) : Buffer.concat([rest, chunk]);
    let at: number;
    while ((at = buffer.indexOf(separator)) !== -1) {
      yield buffer.subarray(0, at);
      buffer = buffer.subarray(at + 1);
    }
    rest = Buffer.from(buffer); // a copy, so the chunk it came from can be freed
  }
  if (rest.length > 0) yield rest;
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
 * NUL-separated (`find … -print0`). Empty names are skipped.
 */
export async function* fileNamesFromStream(source: AsyncIterable<Uint8Array>, nul: boolean): AsyncGenerator<string> {
  for await (const record of splitRecords(source, nul ? 0x00 : 0x0a)) {
    const name = decoder.decode(record);
    const trimmed = nul ? name : name.replace(/\r$/, "");
    if (trimmed !== "") yield trimmed;
  }
}

/** One item a file, its contents as the prompt (one trailing newline dropped, as for stdin). */
export async function* itemsFromFiles(files: Iterable<string> | AsyncIterable<string>): AsyncGenerator<BatchItem> {
  let index = 0;
  for await (const file of files) {
    index++;
    try {
      yield { index: index - 1, file, text: (await readFile(file, "utf8")).replace(/\r?\n$/, "") };
    } catch (error) {
      yield { index: index - 1, file, text: "", problem: `cannot read ${file}: ${(error as Error).message}` };
    }
  }
}

/** Per-item settings JSON Lines may carry, with their SDK names. */
const itemSettings: Readonly<Record<string, string>> = {
  maxTokens: "maxTokens",
  temperature: "temperature",
  topK: "topKSampling",
  topP: "topPSampling",
  minP: "minPSampling",
  repeatPenalty: "repeatPenalty",
};

/** `{"prompt": "...", "model"?: "...", "stop"?: [...], "maxTokens"?: 40, ...}` */
export function jsonItem(index: number, line: string): BatchItem {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { index, text: "", problem: `line ${index + 1} is not valid JSON: ${(error as Error).message}` };
  }
  if (typeof value !== "object" || value === null || typeof (value as { prompt?: unknown }).prompt !== "string") {
    return { index, text: "", problem: `line ${index + 1} has no "prompt" string` };
  }
  const { prompt, model, stop, ...rest } = value as Record<string, unknown>;
  const item: BatchItem = { index, text: prompt as string };
  try {
    if (model !== undefined) {
      if (typeof model !== "string" || model === "") throw new Error(`"model" must be a non-empty string`);
      item.model = model;
    }
    if (stop !== undefined) {
      const stops = typeof stop === "string" ? [stop] : stop;
      if (!Array.isArray(stops) || !stops.every((s) => typeof s === "string" && s !== "")) {
        throw new Error(`"stop" must be a string or a list of non-empty strings`);
      }
      item.stopStrings = stops;
    }
    for (const [name, setting] of Object.entries(rest)) {
      const key = itemSettings[name];
      if (!key) throw new Error(`unknown field "${name}"; known: prompt, model, stop, ${Object.keys(itemSettings).join(", ")}`);
      (item.prediction ??= {})[key] = parseSetting(key, String(setting), `"${name}"`);
    }
  } catch (error) {
    return { index, text: "", problem: `line ${index + 1}: ${(error as Error).message}` };
  }
  return item;
}
