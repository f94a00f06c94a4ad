// When stdin is a regular file (lmc --each < prompts.txt), batch mode can know how many
// items there are before reading them, for the progress line's total. The file is read
// a second time for that, with positioned reads that leave stdin's offset alone, from
// where stdin stands now (a script may have read part of it already; Io.stdinFileOffset).

import { createReadStream, type ReadStream } from "node:fs";

/**
 * The bytes of the regular file open as `fd` from `offset`, when there is one (stdin is
 * a regular file whose offset could be found); otherwise undefined. Call it before
 * stdin is read from: the stream reads from `offset` when consumed. It never closes `fd`.
 */
export function stdinFileAhead(fd: number, offset: number | undefined): ReadStream | undefined {
  if (offset === undefined) return undefined;
  try {
    return createReadStream("", { fd, start: offset, autoClose: false, emitClose: false });
  } catch {
    return undefined;
  }
}
