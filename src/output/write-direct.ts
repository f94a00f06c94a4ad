// Writing a short text to a descriptor without a stream: making process.stdout loads
// Node's stream and net modules (3-5 ms of a run as short as --version). src/cli.ts
// hands whatever this leaves unwritten to the stream, whose error ends the run as a
// completion's write error does.

import { writeSync } from "node:fs";

/**
 * Writes `bytes` to `fd` synchronously, as far as it goes: returns how many were
 * written before an error (EPIPE, EAGAIN on a non-blocking pipe, ENOSPC…) or a write
 * that took none. Never throws.
 */
export function writeDirect(fd: number, bytes: Uint8Array, write: typeof writeSync = writeSync): number {
  let written = 0;
  try {
    while (written < bytes.length) {
      const n = write(fd, bytes, written);
      if (n <= 0) break;
      written += n;
    }
  } catch {
    // what is left goes to the stream, which reports the error (src/cli.ts)
  }
  return written;
}
