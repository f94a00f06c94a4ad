// --count-tokens in a single run: the prompt as it would be sent, measured in the
// model's tokens beside its context length, as one JSON line on stdout (or -o FILE).
// Nothing is predicted, so there is no stats line.

import type { CompleteOptions } from "../command-line/options.js";
import { ExitCode } from "../errors.js";
import type { Io } from "../io.js";
import { withSession } from "../lmstudio/connect.js";
import { bufferedSink, type CompletionSink } from "../output/sinks.js";
import { promptToSend, type ChatSettings } from "../prediction/chat-prompt.js";
import { watchRun } from "../prediction/idle-watch.js";
import { outputFileSink, progressFor, watchReader } from "../prediction/run-context.js";
import { noProgress } from "../terminal/progress.js";

export async function writeTokenCount(
  options: CompleteOptions,
  io: Io,
  stop: AbortController,
  { prompt, chat }: { prompt: string; chat?: ChatSettings },
): Promise<ExitCode> {
  const progress = progressFor(options.progress, io) ?? noProgress;
  const sink: CompletionSink = options.outputFile ? await outputFileSink(io, options.outputFile, stop) : bufferedSink(io.stdout);
  const stopWatching = watchReader(sink, io, stop);
  try {
    await withSession(options, io, stop, async (session, host) => {
      const { silence } = watchRun(session, host, options.idleTimeoutSec, stop);
      try {
        const request = {
          model: options.model,
          load: options.load,
          ttlSec: options.ttlSec,
          onLoadProgress: (fraction: number) => (silence.alive("the model to load"), progress.show(`loading ${options.model}`, fraction)),
        };
        // The prompt as it would be sent: with --chat, formatted by the model's template first.
        const sent = await promptToSend(session, { ...request, prompt, chat }, stop.signal);
        const measure = await session.measurePrompt({ ...request, prompt: sent, signal: stop.signal });
        progress.clear();
        await sink.write(JSON.stringify({ tokens: measure.tokens, contextLength: measure.contextLength }) + "\n");
        await sink.commit();
      } finally {
        silence.stop();
      }
    });
  } catch (error) {
    await sink.discard().catch(() => {});
    throw error;
  } finally {
    stopWatching();
    progress.clear();
  }
  return ExitCode.ok;
}
