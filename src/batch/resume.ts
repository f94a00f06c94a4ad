// --resume FILE: which items an earlier batch run already completed, read from
// its output. Records with an error, or without a completion, are not counted,
// so those items run again; so is a last line cut short (lmc killed mid-write).

import type { Stats } from "node:fs";
import { splitBoundedRecords } from "./input.js";
import { ExitCode, LmcError, systemErrorText } from "../errors.js";
import { openToRead, type NamedFileReader } from "../lib/fifo-open.js";

/** Where a record is in the file: bytes, without its newline. */
interface Span {
  offset: number;
  length: number;
}

export interface EarlierOutput {
  /** The items completed, and where each one's record is (the last, if there are several). */
  done: ReadonlyMap<number, Span>;
  /** The file does not end in a newline: its last line was cut short. */
  cutShort: boolean;
  /** The file read, to tell it from the output (device and inode). */
  stats: Stats;
  /** Open on the file read, for carrying its records over; closed by close(). */
  file: NamedFileReader;
  close(): Promise<void>;
}

/**
 * Longer than any record lmc writes: a completion of at most 16 MiB and, with --echo,
 * a prompt of at most 32 MiB, each byte at worst six in JSON (\u001b), a file name
 * and the stats. A longer line (an endless one: /dev/zero) is not lmc's output, and
 * is not held in memory while it is found so.
 */
const MAX_RECORD_BYTES = 320 * 1024 * 1024;

/** The earlier output in `file`; undefined when there is none yet (nothing to skip). */
export async function readEarlierOutput(file: string): Promise<EarlierOutput | undefined> {
  let handle: NamedFileReader;
  try {
    handle = await openToRead(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw cannotRead(file, error);
  }
  try {
    const done = new Map<number, Span>();
    let offset = 0;
    let lastByte = 0x0a;
    const tooLong = () => new LmcError(`--resume: ${file} is not the output of lmc: a line of more than 320 MiB`, ExitCode.usage);
    let sinceNewline = 0;
    const look = (chunk: Buffer) => {
      lastByte = chunk[chunk.length - 1]!;
      const newline = chunk.lastIndexOf(0x0a);
      sinceNewline = newline === -1 ? sinceNewline + chunk.length : chunk.length - newline - 1;
      if (sinceNewline > MAX_RECORD_BYTES) throw tooLong(); // at once, not at a newline that may never come
    };
    for await (const line of splitBoundedRecords(tap(handle.chunks(), look), 0x0a, MAX_RECORD_BYTES)) {
      if (line === undefined) throw tooLong();
      const index = completedIndex(Buffer.from(line.buffer, line.byteOffset, line.byteLength).toString("utf8"));
      if (index !== undefined) done.set(index, { offset, length: line.length });
      offset += line.length + 1;
    }
    return { done, cutShort: lastByte !== 0x0a, stats: handle.stats, file: handle, close: () => handle.close() };
  } catch (error) {
    await handle.close().catch(() => {});
    if (error instanceof LmcError) throw error;
    throw cannotRead(file, error);
  }
}

/** The chunks of `source`, each shown to `look` on the way. */
async function* tap(source: AsyncIterable<Buffer>, look: (chunk: Buffer) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    if (chunk.length > 0) look(chunk);
    yield chunk;
  }
}

/** The index of a successful record; undefined for an error record, a null completion or a line cut short. */
export function completedIndex(line: string): number | undefined {
  try {
    const record = JSON.parse(line) as { index?: unknown; error?: unknown; completion?: unknown };
    const done = Number.isInteger(record.index) && record.error === undefined && typeof record.completion === "string";
    return done ? (record.index as number) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * --resume FILE -o FILE: the earlier records, read back one at a time as they
 * are written again (rather than all held in memory), so that the new FILE
 * holds them and the new ones, in input order.
 */
export function carriedRecords(earlier: EarlierOutput) {
  const left = new Map(earlier.done);
  const read = async (index: number): Promise<string> => {
    const place = left.get(index);
    if (place === undefined) throw new Error(`record ${index} was carried over already, or never done`);
    const { offset, length } = place;
    left.delete(index);
    const bytes = Buffer.alloc(length);
    await earlier.file.readAt(bytes, offset);
    return bytes.toString("utf8") + "\n";
  };
  return {
    /** The record of item `index`, skipped because it was done. */
    record: read,
    /** The records of items this run's input did not reach, in index order. */
    async *rest(): AsyncGenerator<string> {
      for (const index of [...left.keys()].sort((a, b) => a - b)) yield await read(index);
    },
  };
}

/** Whether two stats are of the same file (by device and inode, whatever the paths). */
export function sameFile(a: Stats, b: Stats | undefined): boolean {
  return b !== undefined && a.dev === b.dev && a.ino === b.ino;
}

function cannotRead(file: string, error: unknown): LmcError {
  return new LmcError(`--resume: cannot read ${file}: ${systemErrorText(error)}`, ExitCode.failed, { cause: error });
}
