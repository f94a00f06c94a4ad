// The one prediction path with a session that answers from a script: what reaches
// the text and the reasoning, the signs of life, the cut-off, the cancel. The real
// SDK and server are the end-to-end tests'.

import { expect, it, vi } from "vitest";
import { ExitCode } from "../../src/errors.js";
import type { CompletionOutcome, CompletionRequest, Fragment, Session } from "../../src/lmstudio/session.js";
import type { AwaitedAnswer } from "../../src/prediction/idle-watch.js";
import { predict, type PredictionHooks } from "../../src/prediction/predict.js";

const request = { prompt: "Hi", stopStrings: [], prediction: {}, load: {} };

/** A session whose one prediction gives `fragments`, then ends for `stopReason`; it keeps the request it was given. */
function scriptedSession(fragments: Fragment[], stopReason = "eosFound") {
  const asked: CompletionRequest[] = [];
  const session: Session = {
    async complete(request) {
      asked.push(request);
      request.onPromptProgress?.(1);
      return {
        fragments: (async function* () {
          for (const fragment of fragments) {
            request.onFragment?.(1);
            yield fragment;
          }
        })(),
        outcome: Promise.resolve({ stats: { stopReason }, model: { key: "m", displayName: "m", identifier: "m" } } as unknown as CompletionOutcome),
      };
    },
    // A template of its own, so a test sees which prompt went where.
    formatPrompt: async ({ system, user }) => `[system:${system ?? ""}][user:${user}][assistant]`,
    measurePrompt: async () => ({ tokens: 1, contextLength: 2 }),
    listModels: async () => [],
    close: async () => {},
    connected: () => true,
  };
  return { session, asked };
}

function hooks(overrides: Partial<PredictionHooks> = {}) {
  const texts: string[] = [];
  const awaited: AwaitedAnswer[] = [];
  const answering = vi.fn();
  const stop = vi.fn();
  const given: PredictionHooks = {
    signal: new AbortController().signal,
    echo: false,
    failOnTruncate: false,
    onText: (text) => void texts.push(text),
    silence: { alive: (next) => void awaited.push(next), stop },
    deadline: { answering },
    ...overrides,
  };
  return { given, texts, awaited, answering, stop };
}

const fragments: Fragment[] = [
  { text: "thinking", reasoning: true },
  { text: "Hello", reasoning: false },
  { text: " there", reasoning: false },
];

it("sends the completion's text on, the --echo'd prompt first, the reasoning apart", async () => {
  const { session } = scriptedSession(fragments);
  const reasoning: string[] = [];
  const end = vi.fn(async () => {});
  const { given, texts, answering } = hooks({ echo: true, reasoning: { write: async (text) => void reasoning.push(text), end } });
  const { outcome, cutOff } = await predict(session, request, given);
  expect(texts).toEqual(["Hi", "Hello", " there"]);
  expect(reasoning).toEqual(["thinking"]);
  expect(end).toHaveBeenCalledOnce();
  expect(answering).toHaveBeenCalled();
  expect(outcome.stats.stopReason).toBe("eosFound");
  expect(cutOff).toBeUndefined();
});

it("with --chat, sends the prompt as the session's template formats it, and --echo writes that one", async () => {
  const { session, asked } = scriptedSession(fragments);
  const { given, texts } = hooks({ echo: true });
  await predict(session, { ...request, chat: { system: "Be brief." } }, given);
  expect(asked.map((r) => r.prompt)).toEqual(["[system:Be brief.][user:Hi][assistant]"]);
  expect(asked[0]).not.toHaveProperty("chat");
  expect(texts).toEqual(["[system:Be brief.][user:Hi][assistant]", "Hello", " there"]);
});

it("without --chat, never asks for the template", async () => {
  const { session, asked } = scriptedSession(fragments);
  session.formatPrompt = () => Promise.reject(new Error("not asked"));
  await predict(session, request, hooks().given);
  expect(asked.map((r) => r.prompt)).toEqual(["Hi"]);
});

it("drops the reasoning when it is not shown", async () => {
  const { given, texts } = hooks();
  await predict(scriptedSession(fragments).session, request, given);
  expect(texts).toEqual(["Hello", " there"]);
});

it("tells the idle watch what it waits for after each message, and stops it once the outcome is in", async () => {
  const { given, awaited, stop } = hooks();
  await predict(scriptedSession(fragments).session, request, given);
  expect(awaited).toEqual(["the first token", "the first token", "the next token", "the next token", "the next token"]);
  expect(stop).toHaveBeenCalled();
});

it("gives --fail-on-truncate's error for a completion cut off, and only with it", async () => {
  const truncated = () => scriptedSession(fragments, "maxPredictedTokensReached").session;
  expect((await predict(truncated(), request, hooks().given)).cutOff).toBeUndefined();
  const { cutOff } = await predict(truncated(), request, hooks({ failOnTruncate: true }).given);
  expect(cutOff?.exitCode).toBe(ExitCode.truncated);
  expect(cutOff?.message).toBe("the completion was cut off (maxPredictedTokensReached; --fail-on-truncate)");
});

it("gives a schema's completion cut off by the token limit or the context an error, --fail-on-truncate or not: it is not JSON", async () => {
  const withSchema = { ...request, schema: { type: "object" } };
  for (const stopReason of ["maxPredictedTokensReached", "contextLengthReached"]) {
    for (const failOnTruncate of [false, true]) {
      const { cutOff } = await predict(scriptedSession(fragments, stopReason).session, withSchema, hooks({ failOnTruncate }).given);
      expect(cutOff?.exitCode).toBe(ExitCode.truncated);
      expect(cutOff?.message).toBe(`the completion was cut off (${stopReason}), so it is not the whole JSON --schema asks for`);
    }
  }
  for (const stopReason of ["eosFound", "stopStringFound", "userStopped"]) {
    expect((await predict(scriptedSession(fragments, stopReason).session, withSchema, hooks().given)).cutOff).toBeUndefined();
  }
});

it("cancels the prediction when the text cannot be written, without aborting the caller's signal", async () => {
  const { session, asked } = scriptedSession(fragments);
  const caller = new AbortController();
  const failure = new Error("disk full");
  const { given } = hooks({ signal: caller.signal, onText: () => Promise.reject(failure) });
  await expect(predict(session, request, given)).rejects.toBe(failure);
  expect(asked[0]!.signal.aborted).toBe(true);
  expect(asked[0]!.signal.reason).toBe(failure);
  expect(caller.signal.aborted).toBe(false);
});

it("cancels the prediction with the caller's reason when the caller's signal aborts", async () => {
  const { session, asked } = scriptedSession(fragments);
  const caller = new AbortController();
  const interrupted = new Error("interrupted");
  const { given } = hooks({ signal: caller.signal, onText: () => caller.abort(interrupted) });
  await expect(predict(session, request, given)).rejects.toBe(interrupted);
  expect(asked[0]!.signal.reason).toBe(interrupted);
});
