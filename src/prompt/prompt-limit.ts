// The most one prompt may take, and reading a source up to it. A prompt source
// can be endless (/dev/zero as a file of --each-file, stdin from a runaway
// program): it is read up to the limit and refused in words, instead of growing
// lmc until a string is too long for V8, and with -P 8 memory stays bounded.

/**
 * 32 MiB: far beyond any model's context (a million tokens is about 4 MB of
 * text), small enough that the items of a batch in flight stay within reason.
 */
export const MAX_PROMPT_BYTES = 32 * 1024 * 1024;

/** "stdin is too large for a prompt (more than 32 MiB)". */
export function tooLargeForPrompt(what: string): string {
  return `${what} is too large for a prompt (more than ${MAX_PROMPT_BYTES / 1024 / 1024} MiB)`;
}

/**
 * All the bytes of `source`, or undefined as soon as there are more than `limit`:
 * then the rest is never read (the iteration is ended, which closes a stream).
 */
export async function readAtMost(source: AsyncIterable<Uint8Array>, limit: number = MAX_PROMPT_BYTES): Promise<Buffer | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of source) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
