// Where a completion goes on stdout, streamed or kept until it is whole; single and
// batch runs both write through these sinks (a file given with -o: output-file.ts).

import { once } from "node:events";
import { ExitCode, LmcError, systemErrorText } from "../errors.js";
import { TextBuilder } from "../lib/text-builder.js";

export interface CompletionSink {
  /** Resolves once the text has been handed on (backpressure included). */
  write(text: string): Promise<void>;
  /** The completion succeeded: make it visible. */
  commit(): Promise<void>;
  /** The completion failed or was cancelled: keep what the contract says to keep. */
  discard(): Promise<void>;
  /** The stream it writes to, when that is a stream (stdout) rather than a file. */
  readonly stream?: NodeJS.WritableStream;
}

/** Raised by a sink whose reader has gone away (EPIPE): the run should stop quietly. */
export class ReaderGoneError extends Error {
  constructor() {
    super("the reader of stdout has gone away");
  }
}

/**
 * Writes each piece as it comes. On failure, what was written stays written
 * (a partial completion is still output). On a terminal a last newline is added
 * so the shell prompt does not land on the completion's last line.
 */
export function streamingSink(stdout: NodeJS.WriteStream): CompletionSink {
  const writer = streamWriter(stdout);
  let last = "";
  const sink: CompletionSink = {
    async write(text) {
      if (text === "") return;
      last = text;
      await writer.write(text);
    },
    async commit() {
      if (stdout.isTTY && last !== "" && !last.endsWith("\n")) await writer.write("\n");
      await writer.flush();
    },
    discard: () => sink.commit(),
    stream: stdout,
  };
  return sink;
}

/** Keeps the completion until it is whole: on failure nothing is written at all. */
export function bufferedSink(stdout: NodeJS.WriteStream): CompletionSink {
  const completion = new TextBuilder();
  return {
    async write(text) {
      completion.append(text);
    },
    async commit() {
      const stream = streamingSink(stdout);
      await stream.write(completion.toString());
      await stream.commit();
    },
    async discard() {},
    stream: stdout,
  };
}

/**
 * Writes to a stream with backpressure: a write waits only when the stream's
 * buffer is full. A stream error (EPIPE when the reader has gone) is remembered
 * and raised by the next write or flush: a ReaderGoneError for a broken pipe, else
 * "cannot write stdout" and what the system said (ENOSPC on /dev/full, EIO).
 */
export function streamWriter(stream: NodeJS.WritableStream) {
  let failure: unknown;
  stream.on("error", (error) => (failure ??= error));
  const check = () => {
    if (failure === undefined) return;
    if (isBrokenPipe(failure)) throw new ReaderGoneError();
    throw new LmcError(`cannot write stdout: ${systemErrorText(failure)}`, ExitCode.failed, { cause: failure });
  };
  return {
    async write(text: string | Uint8Array): Promise<void> {
      check();
      if (!stream.write(text)) await once(stream, "drain").catch(() => {});
      check();
    },
    /** Resolves once everything written so far has left the process. */
    async flush(): Promise<void> {
      check();
      await new Promise<void>((resolve) => stream.write("", () => resolve()));
      check();
    },
  };
}

export function isBrokenPipe(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === "EPIPE" || code === "ERR_STREAM_DESTROYED";
}
