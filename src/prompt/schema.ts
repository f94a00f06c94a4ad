// --schema: a JSON Schema given inline or as a file, read once before anything is sent.
// Its errors name the file and the place, never its contents: the file may not be
// what the user meant to show.

import { readNamedFile } from "../lib/fifo-open.js";
import { systemErrorText, UsageError } from "../errors.js";
import { describePosition, jsonErrorPosition } from "../lib/json-position.js";

export async function loadSchema(source: string): Promise<object> {
  const inline = source.trimStart().startsWith("{");
  const name = inline ? "the argument" : source;
  let text = source;
  if (!inline) {
    try {
      text = (await readNamedFile(source)).replace(/^\uFEFF/, "");
    } catch (error) {
      throw new UsageError(`--schema: cannot read ${source}: ${systemErrorText(error)}`);
    }
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch {
    throw new UsageError(`--schema: ${name} is not valid JSON: ${describePosition(jsonErrorPosition(text))}`);
  }
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    throw new UsageError(`--schema: ${name} is not a JSON Schema object`);
  }
  return schema;
}
