// One completion: the prompt from the words and stdin, the request to LM Studio, the
// text streamed to stdout (or -o), reasoning to stderr when asked, then the stats line.

import { fstatSync } from "node:fs";
import { raceAbort } from "../lib/abort.js";
import type { CompleteOptions } from "../command-line/options.js";
import { ExitCode } from "../errors.js";
import type { Io } from "../io.js";
import { withSession } from "../lmstudio/connect.js";
import { bufferedSink, streamingSink, streamWriter, type CompletionSink } from "../output/sinks.js";
import { watchRun } from "../prediction/idle-watch.js";
import { predict, type ReasoningOutput } from "../prediction/predict.js";
import { interruptible, outputFileSink, progressFor, statsOutput, watchReader } from "../prediction/run-context.js";
import { formatStats } from "../prediction/stats.js";
import { writeTokenCount } from "./count-tokens.js";
import { assemblePrompt, decodeStdin, needsStdin } from "../prompt/prompt.js";
import { loadSchema } from "../prompt/schema.js";
import { readStdin } from "../prompt/stdin.js";
import { generationMeter, noProgress, type Progress } from "../terminal/progress.js";
import { promptToSend, type ChatSettings } from "../prediction/chat-prompt.js";
import { systemMessage } from "../prompt/system-prompt.js";
import { escapeControls } from "../terminal/terminal-text.js";

export async function complete(options: CompleteOptions, io: Io): Promise<ExitCode> {
  return interruptible(options, io, async (stop, deadline) => {
    const say = (message: string) => io.stderr.write(`lmc: ${message}\n`);
    const stdinText = needsStdin(options.words) ? decodeStdin(await raceAbort(readStdin(io.stdin, say), stop.signal), options.rawStdin) : undefined;
    // The user's prompt; with --chat the model's template formats it before it is measured or completed.
    const prompt = assemblePrompt(options.words, stdinText);
    const chat: ChatSettings | undefined = options.chat ? { system: await systemMessage(options, stop.signal) } : undefined;
    if (options.countTokens) {
      deadline.start();
      return await writeTokenCount(options, io, stop, { prompt, chat });
    }
    // Files the user names may be FIFOs no one writes (or reads): a signal or --timeout still ends the wait.
    const schema = options.schema === undefined ? undefined : await raceAbort(loadSchema(options.schema), stop.signal);

    // The deadline covers the talk with LM Studio, not a slow producer upstream.
    deadline.start();
    const shownProgress = progressFor(options.progress, io);
    const progress = shownProgress ?? noProgress;
    if (options.showPrompt) return showPrompt(options, io, stop, { prompt, chat, progress });
    const stats = await statsOutput(io, options.stats, stop);
    let sink: CompletionSink;
    try {
      sink = options.outputFile ? await outputFileSink(io, options.outputFile, stop) : options.stream ? streamingSink(io.stdout) : bufferedSink(io.stdout);
    } catch (error) {
      await stats?.close();
      throw error;
    }
    // Reasoning shown on stderr is on the progress line's terminal line already.
    const meter = shownProgress && !options.reasoning && !textShowsAsItComes(options.stream, sink, io) ? generationMeter(progress) : undefined;
    const stopWatching = watchReader(sink, io, stop);
    try {
      await withSession(options, io, stop, async (session, host) => {
        const { idle, silence } = watchRun(session, host, options.idleTimeoutSec, stop);
        const written = idle.writesOf(sink);
        try {
          const request = {
            prompt,
            chat,
            model: options.model,
            stopStrings: options.stopStrings,
            prediction: options.prediction,
            schema,
            load: options.load,
            ttlSec: options.ttlSec,
            onLoadProgress: (fraction: number) => progress.show(`loading ${options.model}`, fraction),
            onPromptProgress: (fraction: number) => progress.show("processing the prompt", fraction),
            onFirstToken: () => progress.clear(),
            onFragment: meter,
          };
          const { outcome, cutOff } = await predict(session, request, {
            signal: stop.signal,
            echo: options.echo,
            failOnTruncate: options.failOnTruncate,
            onText: (text) => written.write(text),
            reasoning: options.reasoning ? reasoningWriter(io.stderr) : undefined,
            silence,
            deadline,
          });
          progress.clear(); // before --no-stream's text and the stats line
          await (cutOff ? sink.discard() : sink.commit());
          // A cut-off run has its stats too: they say why it was cut off.
          await stats?.write(formatStats(outcome));
          if (cutOff) throw cutOff;
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
      await stats?.close();
    }
    return ExitCode.ok;
  });
}

/**
 * --show-prompt: the prompt that would be sent, on stdout, and nothing predicted. Without
 * --chat it is the prompt itself and LM Studio is not asked; with --chat the model's
 * template formats it, through the same call a completion makes.
 */
async function showPrompt(
  options: CompleteOptions,
  io: Io,
  stop: AbortController,
  { prompt, chat, progress }: { prompt: string; chat?: ChatSettings; progress: Progress },
): Promise<ExitCode> {
  const request = { prompt, chat, model: options.model, load: options.load, ttlSec: options.ttlSec };
  const shown = !chat
    ? prompt
    : await withSession(options, io, stop, async (session, host) => {
        // LM Studio silent for --idle-timeout ends the wait, as it ends a completion's.
        const { silence } = watchRun(session, host, options.idleTimeoutSec, stop);
        const onLoadProgress = (fraction: number) => (silence.alive("the model to load"), progress.show(`loading ${options.model}`, fraction));
        try {
          return await promptToSend(session, { ...request, onLoadProgress }, stop.signal);
        } finally {
          silence.stop();
          progress.clear();
        }
      });
  await streamWriter(io.stdout).write(shown);
  return ExitCode.ok;
}

/**
 * Whether the completion's text reaches the user as it comes: streamed to stdout that
 * is a terminal, or a pipe or socket whose reader may show it (`| tee`, `| less`).
 * Then the generation meter would only get in its way; with -o FILE, --no-stream or
 * stdout a file, nothing else shows while the model generates.
 */
function textShowsAsItComes(streams: boolean, sink: CompletionSink, io: Io): boolean {
  if (!streams || sink.stream !== io.stdout) return false;
  if (io.stdout.isTTY === true) return true;
  if (io.fds === undefined) return false;
  try {
    const stdout = fstatSync(io.fds.stdout);
    return stdout.isFIFO() || stdout.isSocket();
  } catch {
    return false; // a stdout fstat cannot tell about is not one a person reads
  }
}

/**
 * Writes reasoning to stderr, with control characters escaped (it is the server's
 * text, bound for a terminal), and ends its last line so the stats line stands alone.
 */
function reasoningWriter(stderr: NodeJS.WriteStream): ReasoningOutput {
  const writer = streamWriter(stderr);
  let last = "\n";
  return {
    async write(text: string) {
      if (text === "") return;
      last = text;
      await writer.write(escapeControls(text));
    },
    async end() {
      if (!last.endsWith("\n")) await writer.write("\n");
    },
  };
}
