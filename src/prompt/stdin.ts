// Reads all of stdin as bytes, so that decoding (and what to strip) is decided
// in one place (prompt.ts). The stream is the one Io hands over; a single run
// touches it only here, so one whose prompt is all words never creates it.

import { ExitCode, LmcError, systemErrorText, UsageError } from "../errors.js";
import { MAX_PROMPT_BYTES, readAtMost, tooLargeForPrompt } from "./prompt-limit.js";

/** All of stdin, up to MAX_PROMPT_BYTES: more is a usage error, and is not read. */
export async function readStdin(stdin: NodeJS.ReadStream, hint: (message: string) => void, limit: number = MAX_PROMPT_BYTES): Promise<Uint8Array> {
  if (stdin.isTTY) hint("reading the prompt from the terminal; end it with Ctrl-D");
  const bytes = await readAtMost(stdinChunks(stdin), limit);
  if (bytes === undefined) throw new UsageError(tooLargeForPrompt("stdin"));
  return bytes;
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
