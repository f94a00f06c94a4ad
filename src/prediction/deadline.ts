// --timeout: the deadline of a single run (from its first word to LM Studio) or of a
// batch item. What it says depends on whether the answer had begun.

import { ExitCode, LmcError } from "../errors.js";

/** What --timeout's deadline says when it passes: before any answer came, or during one. */
function timeoutError(seconds: number, answering: boolean): LmcError {
  const message = answering ? `the deadline of ${seconds} s (--timeout) passed mid-completion` : `no answer within ${seconds} s (--timeout)`;
  return new LmcError(message, ExitCode.timeout);
}

export interface Deadline {
  /** Starts counting --timeout. */
  start(): void;
  /** The answer has begun: a deadline passing from now on cuts a completion short. */
  answering(): void;
  /** No longer counts: the work it covered is over. */
  stop(): void;
}

/** Once started, calls `onPassed` with the error to end the work with after `seconds`; with none, never. */
export function deadline(seconds: number | undefined, onPassed: (error: LmcError) => void): Deadline {
  let timer: NodeJS.Timeout | undefined;
  let answering = false;
  return {
    start() {
      if (seconds !== undefined) timer = setTimeout(() => onPassed(timeoutError(seconds, answering)), seconds * 1000);
    },
    answering: () => void (answering = true),
    stop: () => clearTimeout(timer),
  };
}
