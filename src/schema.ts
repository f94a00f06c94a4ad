// --schema: a JSON Schema given inline or as a file, read once before anything is sent.

import { readFile } from "node:fs/promises";
import { UsageError } from "./errors.js";

export async function loadSchema(source: string): Promise<object> {
  const inline = source.trimStart().startsWith("{");
  let text = source;
  if (!inline) {
    try {
      text = await readFile(source, "utf8");
    } catch (error) {
      throw new UsageError(`--schema: cannot read ${source}: ${(error as Error).message}`);
    }
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--schema: ${inline ? "the argument" : source} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
    throw new UsageError(`--schema: ${inline ? "the argument" : source} is not a JSON Schema object`);
  }
  return schema;
}
