// One batch item through a session: its prompt completed into a record. Per-item
// failures (a bad item, a prediction error, --timeout) come back as error records;
// what ends the batch or is the host's fault is thrown.

import { raceAbort, settleWithin, untilAborted } from "../abort.js";
import type { BatchOptions } from "../command-line/options.js";
import { ExitCode, HostSilentError, isHostFailure, LmcError } from "../errors.js";
import type { Session } from "../lmstudio/session.js";
import { CANCEL_GRACE_MS, cutOffError, timeoutError } from "../run-context.js";
import { joinPrompt } from "../single/prompt.js";
import { statsRecord } from "../single/stats.js";
import { TextBuilder } from "../text-builder.js";
import type { HostWatch } from "./host-watch.js";
import type { BatchItem } from "./input.js";
import type { BatchRecord } from "./ordered-engine.js";

export function failedRecord(item: BatchItem, error: string, status: number): BatchRecord {
  return { index: item.index, ...(item.file === undefined ? {} : { file: item.file }), error, status };
}

export async function completeItem(
  session: Session,
  host: string,
  watch: HostWatch,
  item: BatchItem,
  options: BatchOptions,
  batchSignal: AbortSignal,
): Promise<BatchRecord> {
  // The SDK listens on the signal of every prediction it is given and never lets go:
  // each item gets a signal of its own, tied to the batch's, and untied when done.
  const itemAbort = new AbortController();
  const abortItem = () => itemAbort.abort(batchSignal.reason);
  batchSignal.addEventListener("abort", abortItem, { once: true });
  // --timeout is per item: one slow item fails, the batch goes on.
  let answering = false;
  const seconds = options.timeoutSec;
  const deadline = seconds === undefined ? undefined : setTimeout(() => itemAbort.abort(timeoutError(seconds, answering)), seconds * 1000);
  const stopWatching = watch.watch(() => itemAbort.abort(new HostSilentError(host, options.idleTimeoutSec)));
  const signsOfLife = {
    alive: () => watch.alive(),
    answering: () => ((answering = true), watch.alive()),
  };
  // What came before the deadline stays, as a single run's streamed stdout keeps it.
  const partial: { completion?: TextBuilder } = {};
  try {
    return await completeItemOnce(session, item, options, itemAbort.signal, signsOfLife, partial);
  } catch (error) {
    if (!batchSignal.aborted && error instanceof LmcError && error.exitCode === ExitCode.timeout) {
      const completion = partial.completion?.toString();
      return { ...failedRecord(item, error.message, error.exitCode), ...(completion === undefined ? {} : { completion }) };
    }
    throw error;
  } finally {
    clearTimeout(deadline);
    stopWatching();
    batchSignal.removeEventListener("abort", abortItem);
  }
}

async function completeItemOnce(
  session: Session,
  item: BatchItem,
  options: BatchOptions,
  signal: AbortSignal,
  signsOfLife: { alive(): void; answering(): void },
  partial: { completion?: TextBuilder },
): Promise<BatchRecord> {
  const record: BatchRecord = { index: item.index, ...(item.file === undefined ? {} : { file: item.file }) };
  if (item.problem) return failedRecord(item, item.problem, ExitCode.usage);
  const prompt = joinPrompt(options.batch === "files" ? [] : options.words, item.text);
  if (prompt === "") return failedRecord(item, "the prompt is empty", ExitCode.usage);
  try {
    const prediction = await raceAbort(
      session.complete({
        prompt,
        model: item.model ?? options.model,
        stopStrings: item.stopStrings ?? options.stopStrings,
        prediction: { ...options.prediction, ...item.prediction },
        load: options.load,
        ttlSec: options.ttlSec,
        signal,
        onLoadProgress: signsOfLife.alive,
        onPromptProgress: signsOfLife.alive,
      }),
      signal,
    );
    signsOfLife.alive();
    const completion = new TextBuilder(options.echo ? prompt : "");
    // With --echo a single run has written the prompt already, whatever happens next.
    if (options.echo) partial.completion = completion;
    try {
      for await (const fragment of untilAborted(prediction.fragments, signal)) {
        signsOfLife.answering();
        if (!fragment.reasoning) (partial.completion = completion).append(fragment.text);
      }
    } catch (error) {
      await settleWithin(prediction.outcome, CANCEL_GRACE_MS);
      throw error;
    }
    const outcome = await raceAbort(prediction.outcome, signal);
    const stats = statsRecord(outcome);
    const cutOff = cutOffError(options.failOnTruncate, stats.stopReason);
    if (cutOff) return { ...failedRecord(item, cutOff.message, cutOff.exitCode), completion: completion.toString(), stats };
    return { ...record, completion: completion.toString(), stats };
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    // A failed host is for the caller to handle (another host, or the end of the batch).
    if (isHostFailure(error)) throw error;
    if (error instanceof LmcError) return failedRecord(item, error.message, error.exitCode);
    return failedRecord(item, error instanceof Error ? error.message : String(error), ExitCode.failed);
  }
}
