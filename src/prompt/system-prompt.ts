// --system-file: a system message kept in a file, as long system prompts are. Read
// once, before LM Studio is asked, as a file of --each-file is: opened without waiting
// on a FIFO, read up to a prompt's limit, one last newline dropped. Its errors name
// the file, never its contents.

import { systemErrorText, UsageError } from "../errors.js";
import { raceAbort } from "../lib/abort.js";
import { openToRead } from "../lib/fifo-open.js";
import { readAtMost, tooLargeForPrompt } from "./prompt-limit.js";
import { withoutFinalNewline } from "./prompt.js";

/** The system message of --system or --system-file; a FIFO no one writes waits only until `signal` (a signal, Ctrl-C) aborts. */
export async function systemMessage(options: { system?: string; systemFile?: string }, signal: AbortSignal): Promise<string | undefined> {
  if (options.systemFile === undefined) return options.system;
  const path = options.systemFile;
  let bytes: Buffer | undefined;
  try {
    const file = await openToRead(path);
    try {
      bytes = await raceAbort(readAtMost(file.chunks()), signal);
    } finally {
      await file.close();
    }
  } catch (error) {
    if (signal.aborted) throw error;
    throw new UsageError(`--system-file: cannot read ${path}: ${systemErrorText(error)}`);
  }
  if (bytes === undefined) throw new UsageError(`--system-file: ${tooLargeForPrompt(path)}`);
  // A leading byte-order mark is an editor's, not the message's.
  const text = withoutFinalNewline(bytes.toString("utf8").replace(/^\uFEFF/, ""));
  if (text === "") throw new UsageError(`--system-file: ${path} is empty`);
  return text;
}
