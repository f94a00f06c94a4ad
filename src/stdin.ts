// Reads all of stdin as bytes, so that decoding (and what to strip) is decided
// in one place (prompt.ts).

import getStdin from "get-stdin";

export async function readStdin(
  stdin: NodeJS.ReadStream,
  hint: (message: string) => void,
): Promise<Uint8Array> {
  // get-stdin answers "" at once on a terminal; a person typing a prompt wants it read.
  if (!stdin.isTTY) return getStdin.buffer();
  hint("reading the prompt from the terminal; end it with Ctrl-D");
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
