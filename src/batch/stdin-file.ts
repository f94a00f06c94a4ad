// When stdin is a regular file (lmc --each < prompts.txt), batch mode can know how many
// items there are before reading them, for the progress line's total. The file is read
// a second time for that, with positioned reads that leave stdin's offset alone, from
// where stdin stands now (a script may have read part of it already).

import { createReadStream, fstatSync, readFileSync, type ReadStream } from "node:fs";

/**
 * stdin's bytes from its current offset, when it is a regular file whose offset can
 * be found (Linux's /proc); otherwise undefined. Call it before stdin is read from:
 * the offset is taken now, and the stream reads from there when consumed. It never
 * closes `fd`.
 */
export function stdinFileAhead(fd: number): ReadStream | undefined {
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const position = /^pos:\s*(\d+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))?.[1];
    if (position === undefined) return undefined;
    return createReadStream("", { fd, start: Number(position), autoClose: false, emitClose: false });
  } catch {
    return undefined;
  }
}
