// Batch mode's input: prompts one per line, NUL-separated, as JSON Lines with
// per-item settings, or one per file. Everything is read as it is needed, so a
// batch of any length runs in bounded memory.

import { systemErrorText } from "../errors.js";
import { openToRead } from "../lib/fifo-open.js";
import { jsonErrorPosition } from "../lib/json-position.js";
import type { BatchFormat } from "../command-line/options.js";
import { itemSettings, predictionKey, settings } from "../command-line/option-table.js";
import { MAX_PROMPT_BYTES, readAtMost, tooLargeForPrompt } from "../prompt/prompt-limit.js";
import { withoutFinalNewline } from "../prompt/prompt.js";
import { parseStopString } from "../command-line/stop-strings.js";
import { EscapeError } from "../lib/escapes.js";

export interface BatchItem {
  index: number;
  /**
   * A JSON Lines item's "id", any JSON value (null too), copied into its record so that
   * records can be joined back to their inputs; absent when the item has none.
   */
  id?: unknown;
  /** The item's text: a line, a NUL-separated record, a JSON Lines prompt or a file's contents. */
  text: string;
  /** The file it came from, with --each-file. */
  file?: string;
  /** Settings of this item alone (JSON Lines), keyed as the run's prediction settings are. */
  prediction?: Record<string, unknown>;
  model?: string;
  stopStrings?: string[];
  /** A JSON Lines item's "chat": true or false, whatever --chat says. */
  chat?: boolean;
  /** A JSON Lines item's "system": its system message, with --chat or "chat": true. */
  system?: string;
  /** Why the item cannot be completed (bad JSON, unreadable file): it gets an error record. */
  problem?: string;
}

/**
 * Splits a byte stream at `separator`, pulling chunks only as records are consumed.
 * The chunks of a record not yet ended are kept apart and joined once, when it
 * ends, so a record of any length takes time in proportion to its length.
 */
export async function* splitRecords(source: AsyncIterable<Uint8Array>, separator: number): AsyncGenerator<Uint8Array> {
  for await (const record of splitBoundedRecords(source, separator, Infinity)) {
    // No record passes Infinity bytes, so none comes as undefined.
    if (record !== undefined) yield record;
  }
}

/**
 * splitRecords, with undefined for a record of more than `maxBytes`: its bytes are
 * dropped as they come, so an endless record (stdin from /dev/zero) takes no memory.
 */
export async function* splitBoundedRecords(source: AsyncIterable<Uint8Array>, separator: number, maxBytes: number): AsyncGenerator<Uint8Array | undefined> {
  let unfinished: Buffer[] = [];
  let size = 0; // of the unfinished chunks
  let tooLarge = false;
  for await (const bytes of source) {
    const chunk = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let start = 0;
    for (let at = chunk.indexOf(separator); at !== -1; at = chunk.indexOf(separator, start)) {
      const end = chunk.subarray(start, at);
      if (tooLarge || size + end.length > maxBytes) yield undefined;
      else yield unfinished.length === 0 ? end : Buffer.concat([...unfinished, end]);
      unfinished = [];
      size = 0;
      tooLarge = false;
      start = at + 1;
    }
    if (start === chunk.length) continue;
    tooLarge ||= size + chunk.length - start > maxBytes;
    if (tooLarge) {
      unfinished = [];
      size = 0;
    } else {
      // A copy of a chunk's tail, so the rest of the chunk can be freed.
      unfinished.push(start === 0 ? chunk : Buffer.from(chunk.subarray(start)));
      size += chunk.length - start;
    }
  }
  if (tooLarge) yield undefined;
  else if (unfinished.length > 0) yield Buffer.concat(unfinished);
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

/**
 * The items of stdin in the given format, numbered from 0 in input order. An item
 * of more than MAX_PROMPT_BYTES is not kept: it fails, and the batch goes on.
 */
export async function* itemsFromStream(source: AsyncIterable<Uint8Array>, format: BatchFormat): AsyncGenerator<BatchItem> {
  let index = 0;
  for await (const record of splitBoundedRecords(source, format === "nul" ? 0x00 : 0x0a, MAX_PROMPT_BYTES)) {
    if (record === undefined) {
      yield { index, text: "", problem: tooLargeForPrompt(format === "nul" ? "the item" : `line ${index + 1}`) };
      index++;
      continue;
    }
    const text = decoder.decode(record);
    if (format === "jsonl") yield jsonItem(index++, text);
    else yield { index: index++, text: format === "lines" ? text.replace(/\r$/, "") : text };
  }
}

/** File names on stdin longer than this (Linux takes 4096 bytes) are not kept in memory: they fail. */
const MAX_NAME_BYTES = 64 * 1024;
const NAME_TOO_LONG = Symbol("a file name of more than MAX_NAME_BYTES");

/**
 * The file names of `--each-file` with no file words, from stdin: one per line, or
 * NUL-separated (`find … -print0`). A blank line is layout and skipped; an empty
 * NUL-separated name (two NULs in a row) is an item, which fails, so that the
 * indexes after it stay those of the input.
 */
export async function* fileNamesFromStream(source: AsyncIterable<Uint8Array>, nul: boolean): AsyncGenerator<string | typeof NAME_TOO_LONG> {
  for await (const record of splitBoundedRecords(source, nul ? 0x00 : 0x0a, MAX_NAME_BYTES)) {
    if (record === undefined) {
      yield NAME_TOO_LONG;
      continue;
    }
    const name = decoder.decode(record);
    const trimmed = nul ? name : name.replace(/\r$/, "");
    if (nul || trimmed !== "") yield trimmed;
  }
}

/**
 * One item a file, its contents as the prompt (one trailing newline dropped, as for
 * stdin). A file of more than MAX_PROMPT_BYTES fails after reading that much.
 */
export async function* itemsFromFiles(files: Iterable<string> | AsyncIterable<string | typeof NAME_TOO_LONG>): AsyncGenerator<BatchItem> {
  let index = 0;
  for await (const file of files) {
    index++;
    if (file === NAME_TOO_LONG) {
      yield { index: index - 1, text: "", problem: `the file name is too long (more than ${MAX_NAME_BYTES} bytes)` };
      continue;
    }
    if (file === "") {
      yield { index: index - 1, file, text: "", problem: "the file name is empty" };
      continue;
    }
    try {
      const bytes = await readPromptFile(file);
      if (bytes === undefined) yield { index: index - 1, file, text: "", problem: tooLargeForPrompt(file) };
      else yield { index: index - 1, file, text: withoutFinalNewline(bytes.toString("utf8")) };
    } catch (error) {
      yield { index: index - 1, file, text: "", problem: `cannot read ${file}: ${systemErrorText(error)}` };
    }
  }
}

/**
 * `{"prompt": "...", "model"?: "...", "stop"?: [...], "maxTokens"?: 40, ...}`. A bad
 * line is named by its number and what is wrong, never quoted: the input may not be
 * what the user meant to show.
 */
export function jsonItem(index: number, line: string): BatchItem {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    const { column, atEnd } = jsonErrorPosition(line);
    // A line that is not JSON has no id.
    return { index, text: "", problem: `line ${index + 1} is not valid JSON (${atEnd ? "it ends too early" : `column ${column}`})` };
  }
  // Its id goes into the record, an error record too, once the line is JSON.
  const head: Pick<BatchItem, "index" | "id"> =
    typeof value === "object" && value !== null && Object.hasOwn(value, "id") ? { index, id: (value as { id: unknown }).id } : { index };
  const problem = (what: string): BatchItem => ({ ...head, text: "", problem: `line ${index + 1}${what}` });
  if (typeof value !== "object" || value === null || typeof (value as { prompt?: unknown }).prompt !== "string") {
    return problem(` has no "prompt" string`);
  }
  const { prompt, model, stop, chat, system, id: _id, ...rest } = value as Record<string, unknown>;
  const item: BatchItem = { ...head, text: prompt as string };
  if (model !== undefined) {
    const modelKey = settings.model.type;
    if (typeof model !== "string" || modelKey.parse(model) === undefined) return problem(`: "model" must be ${modelKey.accepts}`);
    item.model = model;
  }
  if (stop !== undefined) {
    const stops = typeof stop === "string" ? [stop] : stop;
    if (!Array.isArray(stops) || !stops.every((s) => typeof s === "string" && s !== "")) {
      return problem(`: "stop" must be a string or a list of non-empty strings`);
    }
    // The escapes of --stop apply here too: "\\n" (backslash, n) is a newline, as a real newline is.
    try {
      item.stopStrings = stops.map(parseStopString);
    } catch (error) {
      if (error instanceof EscapeError) return problem(`: "stop" ${error.message}`);
      throw error;
    }
  }
  if (chat !== undefined) {
    if (typeof chat !== "boolean") return problem(`: "chat" must be ${settings.chat.type.accepts}`);
    item.chat = chat;
  }
  if (system !== undefined) {
    if (typeof system !== "string" || settings.system.type.parse(system) === undefined) return problem(`: "system" must be ${settings.system.type.accepts}`);
    item.system = system;
  }
  for (const [name, setting] of Object.entries(rest)) {
    const field = itemSettings[name];
    // A field name is the input's shape, not its content: it is named when it looks like one.
    if (!field)
      return problem(
        `: unknown field${/^\w{1,40}$/.test(name) ? ` "${name}"` : ""}; known: prompt, id, model, stop, chat, system, ${Object.keys(itemSettings).join(", ")}`,
      );
    const parsed = field.type.parse(String(setting));
    if (parsed === undefined) return problem(`: "${name}" must be ${field.type.accepts}`);
    (item.prediction ??= {})[predictionKey(field)] = parsed;
  }
  return item;
}

/** A file of --each-file, opened without waiting on a FIFO, read up to a prompt's limit. */
async function readPromptFile(path: string): Promise<Buffer | undefined> {
  const file = await openToRead(path);
  try {
    return await readAtMost(file.chunks());
  } finally {
    await file.close();
  }
}
