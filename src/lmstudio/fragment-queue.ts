// A prediction's fragments between the SDK, which hands them over as fast as the server
// sends them, and lmc, which takes them as fast as its reader does (stdout, -o, a batch
// record). What was taken is not kept; what was not taken yet is joined into text, one
// piece per run of answer or reasoning. So what a run holds is at most what its reader
// is behind, and that is bounded too: a completion may not pass MAX_COMPLETION_BYTES.

import { ExitCode, LmcError } from "../errors.js";
import { TextBuilder } from "../lib/text-builder.js";
import type { Fragment } from "./session.js";

/**
 * The most text lmc takes for one completion, answer and reasoning together, in UTF-8
 * bytes: 16 MiB, about four million tokens, four times the longest context a local model
 * offers today. A server that sends more is cancelled (CompletionTooLargeError).
 */
export const MAX_COMPLETION_BYTES = 16 * 1024 * 1024;

export class CompletionTooLargeError extends LmcError {
  constructor(limitBytes: number) {
    super(`the completion passed ${limitBytes / (1024 * 1024)} MiB, the most lmc takes for one: it was cancelled`, ExitCode.failed);
    this.name = "CompletionTooLargeError";
  }
}

interface Run {
  reasoning: boolean;
  text: TextBuilder;
}

interface FragmentQueue extends AsyncIterable<Fragment> {
  /** A fragment from the server; past the limit, the queue fails and `onOverflow` is called once. */
  push(text: string, reasoning: boolean): void;
  /** The prediction ended: the reader gets what is left, then the end. */
  finish(): void;
  /** The prediction failed: the reader gets what is left, then this error. */
  fail(error: unknown): void;
}

export function fragmentQueue(limitBytes: number, onOverflow: () => void): FragmentQueue {
  let waiting: Run[] = [];
  let bytes = 0;
  let end: { error?: unknown } | undefined;
  let wake: (() => void) | undefined;
  const settle = (ending: { error?: unknown }) => {
    end ??= ending;
    wake?.();
  };
  return {
    push(text, reasoning) {
      if (end !== undefined) return;
      bytes += Buffer.byteLength(text);
      if (bytes > limitBytes) {
        settle({ error: new CompletionTooLargeError(limitBytes) });
        onOverflow();
        return;
      }
      const last = waiting.at(-1);
      if (last?.reasoning === reasoning) last.text.append(text);
      else waiting.push({ reasoning, text: new TextBuilder(text) });
      wake?.();
    },
    finish: () => settle({}),
    fail: (error) => settle({ error }),
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (waiting.length > 0) {
          const runs = waiting;
          waiting = [];
          for (const run of runs) yield { text: run.text.toString(), reasoning: run.reasoning };
        } else if (end !== undefined) {
          if ("error" in end) throw end.error;
          return;
        } else {
          await new Promise<void>((resolve) => (wake = resolve));
          wake = undefined;
        }
      }
    },
  };
}
