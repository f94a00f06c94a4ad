// --resume FILE: which items an earlier batch run already completed, read from
// its output. Records with an error are not counted, so those items run again.

import { createReadStream } from "node:fs";
import { splitRecords } from "./batch-input.js";
import { ExitCode, LmcError } from "./errors.js";

export async function completedIndexes(file: string): Promise<Set<number>> {
  const done = new Set<number>();
  try {
    for await (const line of splitRecords(createReadStream(file), 0x0a)) {
      const index = completedIndex(Buffer.from(line).toString("utf8"));
      if (index !== undefined) done.add(index);
    }
  } catch (error) {
    // No output yet is a batch that has not started: nothing to skip.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return done;
    throw new LmcError(`--resume: cannot read ${file}: ${(error as Error).message}`, ExitCode.failed, { cause: error });
  }
  return done;
}

/** The index of a successful record; undefined for an error record or a line cut short. */
export function completedIndex(line: string): number | undefined {
  try {
    const record = JSON.parse(line) as { index?: unknown; error?: unknown };
    return Number.isInteger(record.index) && record.error === undefined ? (record.index as number) : undefined;
  } catch {
    return undefined;
  }
}
