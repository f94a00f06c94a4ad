// One batch item through a session: its prompt completed into a record. Per-item
// failures (a bad item, a prediction error, --timeout) come back as error records;
// what ends the batch or is the host's fault is thrown.

import type { BatchOptions } from "../command-line/options.js";
import { ExitCode, HostSilentError, isHostFailure, LmcError } from "../errors.js";
import type { Session } from "../lmstudio/session.js";
import { deadline as deadlineOf, type Deadline } from "../prediction/deadline.js";
import type { IdleWatch, Watching } from "../prediction/idle-watch.js";
import { predict } from "../prediction/predict.js";
import { promptToSend } from "../prediction/chat-prompt.js";
import { statsRecord } from "../prediction/stats.js";
import { joinPrompt } from "../prompt/prompt.js";
import { TextBuilder } from "../lib/text-builder.js";
import type { BatchItem } from "./input.js";
import type { BatchRecord } from "./ordered-engine.js";

/** What every record of `item` begins with: its index, its JSON Lines id (when it has one), its file. */
function recordOf(item: BatchItem): BatchRecord {
  return { index: item.index, ...("id" in item ? { id: item.id } : {}), ...(item.file === undefined ? {} : { file: item.file }) };
}

export function failedRecord(item: BatchItem, error: string, status: number): BatchRecord {
  return { ...recordOf(item), error, status };
}

/** `watch` is the host's, shared by its items in flight. */
export async function completeItem(
  session: Session,
  host: string,
  watch: IdleWatch,
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
  const deadline = deadlineOf(options.timeoutSec, (error) => itemAbort.abort(error));
  deadline.start();
  const silence = watch.watch(() => itemAbort.abort(new HostSilentError(host, options.idleTimeoutSec)));
  // What came before the deadline stays, as a single run's streamed stdout keeps it.
  const partial: { completion?: TextBuilder } = {};
  try {
    return await completeItemOnce(session, item, options, itemAbort.signal, silence, deadline, partial);
  } catch (error) {
    if (!batchSignal.aborted && error instanceof LmcError && error.exitCode === ExitCode.timeout) {
      const completion = partial.completion?.toString();
      return { ...failedRecord(item, error.message, error.exitCode), ...(completion === undefined ? {} : { completion }) };
    }
    throw error;
  } finally {
    deadline.stop();
    silence.stop();
    batchSignal.removeEventListener("abort", abortItem);
  }
}

async function completeItemOnce(
  session: Session,
  item: BatchItem,
  options: BatchOptions,
  signal: AbortSignal,
  silence: Watching,
  deadline: Deadline,
  partial: { completion?: TextBuilder },
): Promise<BatchRecord> {
  const record = recordOf(item);
  if (item.problem) return failedRecord(item, item.problem, ExitCode.usage);
  const prompt = joinPrompt(options.batch === "files" ? [] : options.words, item.text);
  if (prompt === "") return failedRecord(item, "the prompt is empty", ExitCode.usage);
  const chat = item.chat ?? options.chat;
  if (item.system !== undefined && !chat) return failedRecord(item, `"system" goes with --chat or "chat": true`, ExitCode.usage);
  try {
    const request = {
      prompt,
      chat: chat ? { system: item.system ?? options.system } : undefined,
      model: item.model ?? options.model,
      stopStrings: item.stopStrings ?? options.stopStrings,
      prediction: { ...options.prediction, ...item.prediction },
      load: options.load,
      ttlSec: options.ttlSec,
    };
    if (options.countTokens) {
      const onLoadProgress = () => silence.alive("the model to load");
      // The prompt as it would be sent: with --chat, formatted by the item's model's template first.
      const sent = await promptToSend(session, { ...request, onLoadProgress }, signal);
      const { tokens, contextLength } = await session.measurePrompt({ ...request, prompt: sent, signal, onLoadProgress });
      return { ...record, tokens, contextLength };
    }
    const completion = new TextBuilder();
    const { outcome, cutOff } = await predict(session, request, {
      signal,
      echo: options.echo,
      failOnTruncate: options.failOnTruncate,
      // Any text, the --echo'd prompt too, is kept on --timeout, as a single run has written it already.
      onText: (text) => {
        partial.completion = completion;
        completion.append(text);
      },
      silence,
      deadline,
    });
    const stats = statsRecord(outcome);
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
