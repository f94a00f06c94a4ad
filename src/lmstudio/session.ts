// openSession(), the only module that imports @lmstudio/sdk: the rest of lmc sees it
// and the small interfaces below, and the errors it throws are LmcErrors that already
// say what the user should do (sdk-errors.ts). The seam owns the types of what it is asked.

import { LMStudioClient, type LLM, type LLMPredictionStats, type LoggerInterface } from "@lmstudio/sdk";
import { raceAbort } from "../lib/abort.js";
import { ExitCode, LmcError, PromptTooLongError, ServerProtocolError } from "../errors.js";
import { escapeControls } from "../terminal/terminal-text.js";
import type { Step } from "../startup/timeline.js";
import type { Credentials } from "./api-token.js";
import { fragmentQueue, MAX_COMPLETION_BYTES } from "./fragment-queue.js";
import { watchPort, type PortWatch } from "./port-watch.js";
import { asksLoadSettings, loadedAlreadyNote, type LoadedInstance } from "./loaded-already.js";
import { modelErrorMessage, modelProblem, requestError, streamError } from "./sdk-errors.js";
import { templateError } from "./template-errors.js";
import { mostTokens } from "../prompt/token-bound.js";

/** How the model is loaded, when lmc loads it just in time (LLMLoadModelConfig). */
export interface LoadSettings {
  contextLength?: number;
  gpu?: { ratio: number | "max" | "off" };
  /** LM Studio takes the seed in the load configuration too. */
  seed?: number;
}

interface SessionOptions {
  host: string;
  credentials?: Credentials;
  /** Receives the SDK's own log lines; lmc shows them only with --verbose. */
  log: (level: string, message: string) => void;
  /** Told each step of the session that the run's timeline shows (NODE_DEBUG=lmc). */
  onStep?: (step: Step) => void;
  /** Told, once per model, when --context-length, --gpu or --ttl could not apply (loaded-already.ts). */
  notice: (message: string) => void;
}

export interface CompletionRequest {
  prompt: string;
  model?: string;
  stopStrings: string[];
  /**
   * Checked prediction settings, by their LLMPredictionConfigInput names, or, for those
   * SDK 1.5's complete() silently drops although LM Studio knows them (its option schema
   * lacks them), by the configuration key LM Studio reads them by (llm.prediction.…).
   */
  prediction: Record<string, unknown>;
  /** A JSON Schema the completion must satisfy. */
  schema?: object;
  /** How to load the model, when it has to be loaded. */
  load: LoadSettings;
  ttlSec?: number;
  signal: AbortSignal;
  /** While lmc loads the model: how far it is, 0 to 1. */
  onLoadProgress?: (fraction: number) => void;
  /** While the prompt is processed: how far it is, 0 to 1. */
  onPromptProgress?: (fraction: number) => void;
  onFirstToken?: () => void;
  /** As each fragment arrives, however fast lmc writes them out: a sign of life, with the tokens it holds. */
  onFragment?: (tokens: number) => void;
}

/** Which model a request is for, and how to load it when it has to be: what a model lookup reads. */
export type ModelRequest = Pick<CompletionRequest, "model" | "load" | "ttlSec" | "signal" | "onLoadProgress">;

/** A chat of one user message, and a system message before it when there is one. */
export interface ChatRequest extends ModelRequest {
  system?: string;
  user: string;
}

interface ModelIdentity {
  key: string;
  displayName: string;
  identifier: string;
}

export interface CompletionOutcome {
  stats: LLMPredictionStats & { stopString?: string };
  model: ModelIdentity;
}

export interface Fragment {
  text: string;
  /** Part of a reasoning model's reasoning (or its tags), not of the answer. */
  reasoning: boolean;
}

interface Prediction {
  /** The fragments, in order. */
  fragments: AsyncIterable<Fragment>;
  /** Settles once the server has ended the prediction (after a cancel too). */
  outcome: Promise<CompletionOutcome>;
}

/** A model LM Studio has downloaded, and the identifiers of its loaded instances. */
export interface ModelListing {
  key: string;
  displayName: string;
  loaded: boolean;
  identifiers: string[];
  sizeBytes: number;
  architecture?: string;
  paramsString?: string;
}

/** A prompt measured in the model's tokens, beside the context length of the model's instance. */
export interface PromptMeasure {
  tokens: number;
  contextLength: number;
}

/** What measuring a prompt needs of a request: the prompt, and how to find (or load) the model. */
export type MeasureRequest = ModelRequest & Pick<CompletionRequest, "prompt">;

export interface Session {
  /**
   * Finds (or loads) the model, then starts the prediction; a prompt that does not fit
   * the model's context is refused first, unless --context-overflow lets LM Studio cut it.
   */
  complete(request: CompletionRequest): Promise<Prediction>;
  /** Finds (or loads) the model, then formats the chat with the model's own prompt template: the raw prompt to complete. */
  formatPrompt(request: ChatRequest): Promise<string>;
  /** --count-tokens: the prompt's tokens and the context length, the model found (or loaded) as complete() finds it. */
  measurePrompt(request: MeasureRequest): Promise<PromptMeasure>;
  /** The downloaded language models, loaded ones marked, in LM Studio's order. */
  listModels(): Promise<ModelListing[]>;
  close(): Promise<void>;
  /** Whether the connection is made (the handshake done); undefined when the SDK does not say. */
  connected(): boolean | undefined;
}

/** How long lmc waits on LM Studio to tell what a model found loaded has, before it goes on without saying. */
const NOTE_WAIT_MS = 2000;

/** Resolves to undefined after `ms`, without keeping the process alive. */
const delay = (ms: number) => new Promise<undefined>((resolve) => void setTimeout(() => resolve(undefined), ms).unref());

/** One model lookup (or load) that several completions wait on. */
interface SharedLookup {
  model: Promise<LLM>;
  abort: AbortController;
  waiting: Set<ModelRequest>;
  settled: boolean;
}

export function openSession({ host, credentials, log, notice, onStep }: SessionOptions): Session {
  // The client's logger reports frames the SDK could not read, to the watch of its port,
  // which can only be made once the client is.
  const late: { watch?: PortWatch } = {};
  const client = new LMStudioClient({ baseUrl: host, ...credentials, logger: sdkLogger(log, (what) => late.watch?.unreadableFrame(what)) });
  const watch = (late.watch = watchPort((client.llm as unknown as { port?: unknown }).port));
  onStep?.("client constructed");
  const contextLengths = keepContextLengths(client);

  const findModel = async (request: ModelRequest): Promise<LLM> => {
    const { model: key, load: config, ttlSec, signal, onLoadProgress } = request;
    // Only when a setting of the load was asked: the models loaded before lmc asked,
    // listed alongside the lookup (sent first, so answered from the state before it).
    const before = asksLoadSettings(request) ? client.llm.listLoaded() : undefined;
    before?.catch(() => {});
    let loading = false;
    const onProgress = (fraction: number) => ((loading = true), onLoadProgress?.(fraction));
    try {
      const model = await (key === undefined ? client.llm.model() : client.llm.model(key, { signal, config, ttl: ttlSec, onProgress }));
      onStep?.("model found");
      // A model lmc loaded has what it asked; one it found loaded may not.
      if (before && !loading) await sayIfLoadedDiffers(request, model, before);
      return model;
    } catch (error) {
      if (signal.aborted) throw error;
      const problem = modelProblem(error);
      if (!problem) throw error;
      const available = await listModelKeys(client).catch(() => undefined);
      throw new LmcError(modelErrorMessage(problem, key, available), ExitCode.modelNotFound, { cause: error });
    }
  };

  /** Says, when `model` was loaded before lmc asked, if it lacks what `asked` wanted; a server slow to tell is not waited on. */
  const sayIfLoadedDiffers = async (asked: ModelRequest, model: LLM, before: Promise<LLM[]>) => {
    const answer = <T>(promise: Promise<T>) => Promise.race([promise, delay(NOTE_WAIT_MS)]).catch(() => undefined);
    const instances = await answer(before);
    if (!instances?.some((instance) => instance.identifier === model.identifier)) return;
    // One more round trip, only for a model found loaded when --context-length was given.
    const info = asked.load.contextLength === undefined ? undefined : await answer(model.getModelInfo());
    const loaded: LoadedInstance = { modelKey: model.modelKey, identifier: model.identifier, contextLength: info?.contextLength };
    const note = loadedAlreadyNote(asked, loaded);
    if (note) notice(note);
  };

  // Batch mode asks for the same model many times, several at once: one lookup (or load)
  // serves all. It has a signal of its own, aborted only when every item waiting on it
  // has given up, so that one item's --timeout cannot fail the others waiting on the load.
  const lookups = new Map<string, SharedLookup>();
  const modelFor = async (request: ModelRequest): Promise<LLM> => {
    const key = request.model ?? "";
    let lookup = lookups.get(key);
    if (!lookup) {
      const waiting = new Set<ModelRequest>();
      const onLoadProgress = (fraction: number) => waiting.forEach((waiter) => waiter.onLoadProgress?.(fraction));
      const abort = new AbortController();
      const created: SharedLookup = { model: findModel({ ...request, signal: abort.signal, onLoadProgress }), abort, waiting, settled: false };
      created.model.then(
        () => (created.settled = true),
        () => ((created.settled = true), lookups.get(key) === created && lookups.delete(key)),
      );
      lookups.set(key, (lookup = created));
    }
    const shared = lookup;
    shared.waiting.add(request);
    try {
      return await raceAbort(shared.model, request.signal);
    } finally {
      shared.waiting.delete(request);
      if (shared.waiting.size === 0 && !shared.settled && request.signal.aborted) {
        // The last one waiting gave up: stop the load, and let the next item ask anew.
        if (lookups.get(key) === shared) lookups.delete(key);
        shared.abort.abort(request.signal.reason);
      }
    }
  };

  /** One round trip more than a completion: the SDK sends the chat, LM Studio renders it with the model's template. */
  const formatPrompt = async (request: ChatRequest): Promise<string> => {
    let model: LLM;
    try {
      model = await modelFor(request);
    } catch (error) {
      throw requestError(error, host, credentials !== undefined);
    }
    const system = request.system === undefined ? [] : [{ role: "system" as const, content: request.system }];
    try {
      return await raceAbort(model.applyPromptTemplate([...system, { role: "user", content: request.user }]), request.signal);
    } catch (error) {
      if (request.signal.aborted) throw error;
      throw templateError(error, model.modelKey) ?? requestError(error, host, credentials !== undefined);
    }
  };

  return {
    async complete(request) {
      let model: LLM;
      try {
        model = await modelFor(request);
      } catch (error) {
        throw requestError(error, host, credentials !== undefined);
      }
      if (!letsServerCut(request.prediction)) {
        try {
          await refuseOverflow(model, request, contextLengths.get(model), host);
        } catch (error) {
          throw requestError(error, host, credentials !== undefined);
        }
      }
      const { settings, raw } = splitRawSettings(request.prediction);
      // Trouble the SDK does not report (a message it refused, no result) ends the prediction here.
      const troubled = new AbortController();
      const trouble = (what: string) => troubled.signal.aborted || troubled.abort(new ServerProtocolError(host, what));
      const fragments = fragmentQueue(MAX_COMPLETION_BYTES, () => void ongoing.cancel());
      const ongoing = watch.predicting(
        () =>
          model.complete(request.prompt, {
            ...settings,
            stopStrings: request.stopStrings.length > 0 ? request.stopStrings : undefined,
            structured: request.schema ? { type: "json", jsonSchema: request.schema } : undefined,
            raw: raw.length > 0 ? { fields: raw } : undefined,
            signal: request.signal,
            onPromptProcessingProgress: request.onPromptProgress,
            onFirstToken: request.onFirstToken,
            onPredictionFragment: (fragment) => {
              forgetFragments(ongoing);
              fragments.push(fragment.content, fragment.reasoningType !== "none");
              request.onFragment?.(fragment.tokensCount);
            },
          }),
        trouble,
      );
      ongoing.then(
        () => fragments.finish(),
        (error) => fragments.fail(streamError(error, host)),
      );
      troubled.signal.addEventListener("abort", () => fragments.fail(troubled.signal.reason), { once: true });
      const outcome = raceAbort(ongoing.result(), troubled.signal).then(
        (result) => {
          onStep?.("done");
          return {
            stats: { ...result.stats, stopString: knownStopString(result.stats, request.stopStrings) },
            model: {
              key: result.modelInfo.modelKey,
              displayName: result.modelInfo.displayName,
              identifier: result.modelInfo.identifier,
            },
          };
        },
        (error) => {
          throw streamError(error, host);
        },
      );
      outcome.catch(() => {}); // awaited by the caller; this only keeps Node from calling it unhandled
      return { fragments: markFirst(fragments, onStep), outcome };
    },
    formatPrompt: (request) => formatPrompt(request),
    async measurePrompt(request) {
      try {
        const model = await modelFor(request);
        const [tokens, contextLength] = await raceAbort(Promise.all([model.countTokens(request.prompt), model.getContextLength()]), request.signal);
        return { tokens: checkedCount(tokens, host, "token count"), contextLength: checkedCount(contextLength, host, "context length") };
      } catch (error) {
        throw requestError(error, host, credentials !== undefined);
      }
    },
    async listModels() {
      let downloaded, loaded;
      try {
        [downloaded, loaded] = await Promise.all([client.system.listDownloadedModels("llm"), client.llm.listLoaded()]);
      } catch (error) {
        throw requestError(error, host, credentials !== undefined);
      }
      return downloaded.map((model) => {
        const identifiers = loaded.filter((instance) => instance.modelKey === model.modelKey).map((i) => i.identifier);
        return {
          key: model.modelKey,
          displayName: model.displayName,
          loaded: identifiers.length > 0,
          identifiers,
          sizeBytes: model.sizeBytes,
          architecture: model.architecture,
          paramsString: model.paramsString,
        };
      });
    },
    async close() {
      await client[Symbol.asyncDispose]();
    },
    connected: () => watch.connected(),
  };
}

/**
 * The context length of each instance as the model lookup told it: LM Studio sends it
 * with the instance's info (LLMInstanceInfo), which the SDK's LLM does not keep. Kept
 * here, the overflow check below costs a short prompt no round trip. Should an upgrade
 * of the SDK rename the method, nothing is kept and the check is skipped (the server
 * still refuses); test/e2e/count-tokens.test.ts fails then.
 */
function keepContextLengths(client: LMStudioClient): WeakMap<LLM, number> {
  const kept = new WeakMap<LLM, number>();
  const namespace = client.llm as unknown as { createDomainSpecificModel?: (port: unknown, info: unknown, ...rest: unknown[]) => LLM };
  const make = namespace.createDomainSpecificModel;
  if (typeof make !== "function") return kept;
  namespace.createDomainSpecificModel = function (port, info, ...rest) {
    const model = make.call(this, port, info, ...rest);
    const contextLength = (info as { contextLength?: unknown } | undefined)?.contextLength;
    if (typeof contextLength === "number" && Number.isSafeInteger(contextLength) && contextLength > 0) kept.set(model, contextLength);
    return model;
  };
  return kept;
}

/** --context-overflow truncate-middle or rolling-window: LM Studio fits a long prompt itself. */
const letsServerCut = (prediction: Record<string, unknown>) =>
  prediction.contextOverflowPolicy === "truncateMiddle" || prediction.contextOverflowPolicy === "rollingWindow";

/**
 * Refuses, before anything is predicted, a prompt that leaves the model no room to
 * answer. Counted by LM Studio only when its text alone could be that long (token-bound.ts).
 */
async function refuseOverflow(model: LLM, request: CompletionRequest, contextLength: number | undefined, host: string): Promise<void> {
  if (contextLength === undefined || mostTokens(request.prompt) < contextLength) return;
  const tokens = checkedCount(await raceAbort(model.countTokens(request.prompt), request.signal), host, "token count");
  if (tokens < contextLength) return;
  throw new PromptTooLongError(tokens, contextLength);
}

/** A count LM Studio sent, which lmc writes out and compares: a whole number, or the server broke the protocol. */
function checkedCount(value: unknown, host: string, what: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  throw new ServerProtocolError(host, `sent a ${what} that is not a whole number`);
}

async function* markFirst(fragments: AsyncIterable<Fragment>, onStep: SessionOptions["onStep"]): AsyncGenerator<Fragment> {
  for await (const fragment of fragments) {
    onStep?.("first fragment");
    yield fragment;
  }
}

/**
 * SDK 1.5's OngoingPrediction keeps every fragment (StreamablePromise's private `buffer`)
 * to make the result's text, which lmc never reads: 2 million one-token fragments took
 * half a gigabyte. lmc takes the fragments from onPredictionFragment instead, which the
 * SDK calls just before it keeps the fragment, and empties the buffer each time, so it
 * holds one. test/e2e/memory.test.ts fails should an upgrade of the SDK undo this.
 */
function forgetFragments(ongoing: object): void {
  const kept = (ongoing as { buffer?: unknown }).buffer;
  if (Array.isArray(kept)) kept.length = 0;
}

/** A key LM Studio's configuration reads (llm.prediction.seed), not an SDK name (LLMPredictionConfigInput's are one word). */
const isConfigurationKey = (name: string) => name.startsWith("llm.");

/** Separates the settings the SDK passes on from those that must go as raw configuration fields. */
function splitRawSettings(prediction: Record<string, unknown>) {
  const settings: Record<string, unknown> = {};
  const raw: Array<{ key: string; value: unknown }> = [];
  for (const [name, value] of Object.entries(prediction)) {
    if (!isConfigurationKey(name)) settings[name] = value;
    else raw.push({ key: name, value: value === false ? { checked: false, value: 0 } : { checked: true, value } });
  }
  return { settings, raw };
}

/** The SDK's log lines may quote the server: handed on (lmc shows them with --verbose) with control characters escaped. */
function sdkLogger(log: SessionOptions["log"], unreadableFrame: (what: string) => void): LoggerInterface {
  const to =
    (level: string) =>
    (...parts: unknown[]) => {
      const text = parts.map(String).join(" ");
      // The SDK drops a frame it cannot parse, and says so only here.
      if (/Received invalid JSON message from server/.test(text)) unreadableFrame("a message that is not JSON");
      else if (/Received invalid message from server/.test(text)) unreadableFrame("a message that lmc cannot read");
      log(level, escapeControls(text));
    };
  return { debug: to("debug"), info: to("info"), warn: to("warn"), error: to("error") };
}

/** LM Studio 2.x reports the stop string; with 1.x lmc can know it only when there was one. */
function knownStopString(stats: LLMPredictionStats & { stopString?: string }, stopStrings: string[]) {
  if (stats.stopString !== undefined) return stats.stopString;
  return stats.stopReason === "stopStringFound" && stopStrings.length === 1 ? stopStrings[0] : undefined;
}

async function listModelKeys(client: LMStudioClient): Promise<string[]> {
  const deadline = new Promise<never>((_, reject) => setTimeout(reject, 2000).unref());
  const models = await Promise.race([client.system.listDownloadedModels(), deadline]);
  return models.filter((m) => m.type === "llm").map((m) => m.modelKey);
}
