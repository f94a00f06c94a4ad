// Reads all of stdin as bytes, so that decoding (and what to strip) is decided
// in one place (prompt.ts). The stream is the one Io hands over; a single run
// touches it only here, so one whose prompt is all words never creates it.

import { buffer } from "node:stream/consumers";

export async function readStdin(
  stdin: NodeJS.ReadStream,
  hint: (message: string) => void,
): Promise<Uint8Array> {
  if (stdin.isTTY) hint("reading the prompt from the terminal; end it with Ctrl-D");
  return buffer(stdin);
}
