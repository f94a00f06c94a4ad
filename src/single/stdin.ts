// Reads all of stdin as bytes, so that decoding (and what to strip) is decided
// in one place (prompt.ts). The stream is the one Io hands over; a single run
// touches it only here, so one whose prompt is all words never creates it.

import { buffer } from "node:stream/consumers";
import { ExitCode, LmcError, systemErrorText } from "../errors.js";

export async function readStdin(
  stdin: NodeJS.ReadStream,
  hint: (message: string) => void,
): Promise<Uint8Array> {
  if (stdin.isTTY) hint("reading the prompt from the terminal; end it with Ctrl-D");
  return buffer(stdinChunks(stdin));
}

/**
 * stdin's chunks, a failed read (EBADF for `lmc 0> file`, EIO from a terminal gone)
 * said as cat says it: "cannot read stdin: bad file descriptor", not Node's
 * "EBADF: bad file descriptor, read". Batch mode reads its items through it too.
 */
export async function* stdinChunks(stdin: NodeJS.ReadStream): AsyncGenerator<Uint8Array> {
  try {
    yield* stdin;
  } catch (error) {
    throw new LmcError(`cannot read stdin: ${systemErrorText(error)}`, ExitCode.failed, { cause: error });
  }
}
