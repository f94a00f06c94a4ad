// How the prompt is put together from the words and stdin. Pure.

import { UsageError } from "../errors.js";

const STDIN_WORD = "-";

/** stdin is read only when there are no words or one of them is "-". */
export function needsStdin(words: readonly string[]): boolean {
  return words.length === 0 || words.includes(STDIN_WORD);
}

/**
 * stdin's bytes as text. Invalid UTF-8 becomes U+FFFD rather than an error. Unless
 * `raw`, a leading byte-order mark and one trailing newline ("\n" or "\r\n", as
 * echo and editors add) are dropped.
 */
export function decodeStdin(bytes: Uint8Array, raw: boolean): string {
  const text = new TextDecoder("utf-8", { fatal: false, ignoreBOM: raw }).decode(bytes);
  return raw ? text : withoutFinalNewline(text);
}

/** `text` without one final newline ("\n" or "\r\n"): stdin's, or a file's that is a batch item. */
export function withoutFinalNewline(text: string): string {
  return text.replace(/\r?\n$/, "");
}

/** The words joined by single spaces, each "-" replaced by `text` (stdin, or a batch item). */
export function joinPrompt(words: readonly string[], text: string | undefined): string {
  return words.length === 0 ? (text ?? "") : words.map((word) => (word === STDIN_WORD ? (text ?? "") : word)).join(" ");
}

/** The prompt of a single run; an empty one is a usage error. */
export function assemblePrompt(words: readonly string[], stdinText: string | undefined): string {
  const prompt = joinPrompt(words, stdinText);
  if (prompt === "") {
    throw new UsageError(needsStdin(words) ? "the prompt is empty: stdin gave nothing" : "the prompt is empty");
  }
  return prompt;
}
