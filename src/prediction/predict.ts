// One prediction: the request sent, its fragments until the end (the reasoning apart),
// the outcome awaited and checked. A prediction cut short is cancelled, and the server
// given a moment to confirm it.

import { raceAbort, settleWithin, untilAborted } from "../lib/abort.js";
import { ExitCode, LmcError } from "../errors.js";
import type { CompletionOutcome, CompletionRequest, Session } from "../lmstudio/session.js";
import type { Deadline } from "./deadline.js";
import type { Watching } from "./idle-watch.js";
import { promptToSend, type ChatSettings } from "./chat-prompt.js";

/** How long a cancelled prediction may take to be confirmed by the server. */
const CANCEL_GRACE_MS = 1000;

/** Stop reasons that mean the completion did not end where the model would have ended it. */
const truncationReasons = new Set(["maxPredictedTokensReached", "contextLengthReached"]);

/**
 * The error of a completion cut off by the token limit or the context, when that is
 * one: with --fail-on-truncate, and always with --schema, whose JSON cut off is not
 * JSON (exit 0 would hand `jq` text it cannot parse).
 */
function cutOffError(failOnTruncate: boolean, schema: boolean, stopReason: string): LmcError | undefined {
  if (!truncationReasons.has(stopReason)) return undefined;
  if (schema) return new LmcError(`the completion was cut off (${stopReason}), so it is not the whole JSON --schema asks for`, ExitCode.truncated);
  if (failOnTruncate) return new LmcError(`the completion was cut off (${stopReason}; --fail-on-truncate)`, ExitCode.truncated);
  return undefined;
}

/** Where the reasoning goes when it is shown (without, it is dropped). */
export interface ReasoningOutput {
  write(text: string): Promise<void>;
  /** The fragments have all come. */
  end(): Promise<void>;
}

export interface PredictionHooks {
  /** The run's or the item's: its abort ends the prediction, and the SDK sends a cancel. */
  signal: AbortSignal;
  /** --echo: the prompt is the first text. */
  echo: boolean;
  failOnTruncate: boolean;
  /** The completion's text, piece by piece, in order. */
  onText(text: string): Promise<void> | void;
  reasoning?: ReasoningOutput;
  /** Told of every message from LM Studio; stopped once the outcome is in (what comes after is lmc's). */
  silence: Watching;
  /** Told when the answer begins. */
  deadline: Pick<Deadline, "answering">;
}

interface Predicted {
  outcome: CompletionOutcome;
  /** The error of a completion cut off, with --fail-on-truncate or --schema. */
  cutOff?: LmcError;
}

/** Completes `request` through `session`, its text to `hooks.onText`; throws what cut it short. */
export async function predict(
  session: Session,
  request: Omit<CompletionRequest, "signal"> & { chat?: ChatSettings },
  hooks: PredictionHooks,
): Promise<Predicted> {
  const { signal, silence } = hooks;
  // The prediction's own signal, tied to the caller's: a failure of its own (a write
  // that failed, say) cancels it without aborting the caller's.
  const cancel = new AbortController();
  const cancelWith = () => cancel.abort(signal.reason);
  if (signal.aborted) cancelWith();
  else signal.addEventListener("abort", cancelWith, { once: true });
  try {
    const onLoadProgress = (fraction: number) => (silence.alive("the model to load"), request.onLoadProgress?.(fraction));
    // With --chat, one round trip more before the prediction: the model's template formats the prompt.
    const prompt = await promptToSend(session, { ...request, onLoadProgress }, cancel.signal);
    if (request.chat) silence.alive("the first token");
    const { chat: _chat, ...completion } = request;
    const prediction = await raceAbort(
      session.complete({
        ...completion,
        prompt,
        signal: cancel.signal,
        // Every message of LM Studio is a sign of life.
        onLoadProgress,
        onPromptProgress: (fraction) => (silence.alive("the first token"), request.onPromptProgress?.(fraction)),
        onFirstToken: () => (silence.alive("the next token"), request.onFirstToken?.()),
        onFragment: (tokens) => (silence.alive("the next token"), request.onFragment?.(tokens)),
      }),
      signal,
    );
    silence.alive("the first token");
    // Silence after the end is no one's.
    const stopWatching = () => silence.stop();
    prediction.outcome.then(stopWatching, stopWatching);
    try {
      // The prompt sent, which with --chat is the formatted one: the text the model continues.
      if (hooks.echo) await hooks.onText(prompt);
      for await (const fragment of untilAborted(prediction.fragments, signal)) {
        hooks.deadline.answering();
        if (!fragment.reasoning) await hooks.onText(fragment.text);
        else await hooks.reasoning?.write(fragment.text);
      }
      await hooks.reasoning?.end();
      const outcome = await raceAbort(prediction.outcome, signal);
      return { outcome, cutOff: cutOffError(hooks.failOnTruncate, request.schema !== undefined, outcome.stats.stopReason) };
    } catch (error) {
      // Cancelling makes the SDK send a cancel; give the server a moment to confirm
      // it, so it stops generating for a reader that is gone.
      if (!cancel.signal.aborted) cancel.abort(error);
      await settleWithin(prediction.outcome, CANCEL_GRACE_MS);
      throw error;
    }
  } finally {
    signal.removeEventListener("abort", cancelWith);
  }
}
