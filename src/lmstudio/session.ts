// The one module that talks to @lmstudio/sdk. The rest of lmc sees only
// openSession() and the small Prediction interface below, and the errors it
// throws are LmcErrors that already say what the user should do.

import { LMStudioClient, type LLM, type LLMPredictionStats } from "@lmstudio/sdk";
import { ConnectionLostError, ExitCode, LmcError } from "../errors.js";
import type { LoadSettings } from "../command-line/resolve-options.js";
import { errorLine, escapeControls, messageParagraphs, plainText } from "../terminal/terminal-text.js";
import type { Credentials } from "./api-token.js";

export { messageParagraphs, plainText } from "../terminal/terminal-text.js";

export interface SessionOptions {
  host: string;
  credentials?: Credentials;
  /** Receives the SDK's own log lines; lmc shows them only with --verbose. */
  log: (level: string, message: string) => void;
}

export interface CompletionRequest {
  prompt: string;
  model?: string;
  stopStrings: string[];
  /** Checked prediction settings, by their LLMPredictionConfigInput names. */
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
}

export interface ModelIdentity {
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

export interface Prediction {
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

export interface Session {
  /** Finds (or loads) the model, then starts the prediction. */
  complete(request: CompletionRequest): Promise<Prediction>;
  /** The downloaded language models, loaded ones marked, in LM Studio's order. */
  listModels(): Promise<ModelListing[]>;
  close(): Promise<void>;
}

export function openSession({ host, credentials, log }: SessionOptions): Session {
  const client = new LMStudioClient({
    baseUrl: host,
    ...credentials,
    // The SDK's log lines may quote the server: shown (with --verbose) with their control characters escaped.
    logger: {
      debug: (...parts) => log("debug", escapeControls(parts.map(String).join(" "))),
      info: (...parts) => log("info", escapeControls(parts.map(String).join(" "))),
      warn: (...parts) => log("warn", escapeControls(parts.map(String).join(" "))),
      error: (...parts) => log("error", escapeControls(parts.map(String).join(" "))),
    },
  });

  const findModel = async ({ model: key, load, ttlSec, signal, onLoadProgress }: CompletionRequest): Promise<LLM> => {
    try {
      return await (key === undefined
        ? client.llm.model()
        : client.llm.model(key, { signal, config: load, ttl: ttlSec, onProgress: onLoadProgress }));
    } catch (error) {
      if (signal.aborted) throw error;
      const problem = modelProblem(error);
      if (!problem) throw error;
      const available = await listModelKeys(client).catch(() => undefined);
      throw new LmcError(modelErrorMessage(problem, key, available), ExitCode.modelNotFound, { cause: error });
    }
  };

  // Batch mode asks for the same model many times, several at once: one lookup (or load) serves all.
  const models = new Map<string, Promise<LLM>>();
  const modelFor = (request: CompletionRequest): Promise<LLM> => {
    const key = request.model ?? "";
    let model = models.get(key);
    if (!model) {
      model = findModel(request);
      models.set(key, model);
      model.catch(() => models.delete(key));
    }
    return model;
  };

  return {
    async complete(request) {
      let model: LLM;
      try {
        model = await modelFor(request);
      } catch (error) {
        throw connectionError(error, host) ?? authenticationError(error, host, credentials !== undefined) ?? lostConnection(error, host) ?? unexpectedError(error);
      }
      const { settings, raw } = splitRawSettings(request.prediction, request.load.seed);
      const ongoing = model.complete(request.prompt, {
        ...settings,
        stopStrings: request.stopStrings.length > 0 ? request.stopStrings : undefined,
        structured: request.schema ? { type: "json", jsonSchema: request.schema } : undefined,
        raw: raw.length > 0 ? { fields: raw } : undefined,
        signal: request.signal,
        onPromptProcessingProgress: request.onPromptProgress,
        onFirstToken: request.onFirstToken,
      });
      const outcome = ongoing.result().then((result) => ({
        stats: { ...result.stats, stopString: knownStopString(result.stats, request.stopStrings) },
        model: {
          key: result.modelInfo.modelKey,
          displayName: result.modelInfo.displayName,
          identifier: result.modelInfo.identifier,
        },
      }), (error) => {
        throw streamError(error, host);
      });
      outcome.catch(() => {}); // awaited by the caller; this only keeps Node from calling it unhandled
      return { fragments: fragmentsOf(ongoing), outcome };
    },
    async listModels() {
      let downloaded, loaded;
      try {
        [downloaded, loaded] = await Promise.all([client.system.listDownloadedModels("llm"), client.llm.listLoaded()]);
      } catch (error) {
        throw connectionError(error, host) ?? authenticationError(error, host, credentials !== undefined) ?? lostConnection(error, host) ?? unexpectedError(error);
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
  };

  async function* fragmentsOf(fragments: AsyncIterable<{ content: string; reasoningType: string }>) {
    try {
      for await (const fragment of fragments) {
        yield { text: fragment.content, reasoning: fragment.reasoningType !== "none" };
      }
    } catch (error) {
      throw streamError(error, host);
    }
  }
}

/**
 * Settings that SDK 1.5's complete() silently drops although LM Studio knows them
 * (its option schema lacks them), with the key LM Studio reads them by. lmc sends
 * them as raw configuration fields instead.
 */
const rawSettingKeys: Readonly<Record<string, string>> = {
  xtcProbability: "llm.prediction.llama.xtcProbability",
  xtcThreshold: "llm.prediction.llama.xtcThreshold",
  logProbs: "llm.prediction.logProbs",
};

/** Separates the settings the SDK passes on from those that must go as raw fields. */
export function splitRawSettings(prediction: Record<string, unknown>, seed: number | undefined) {
  const settings: Record<string, unknown> = {};
  const raw: Array<{ key: string; value: unknown }> = [];
  for (const [name, value] of Object.entries(prediction)) {
    const key = rawSettingKeys[name];
    if (key === undefined) settings[name] = value;
    else raw.push({ key, value: value === false ? { checked: false, value: 0 } : { checked: true, value } });
  }
  // Nor has SDK 1.5 a seed option for a prediction.
  if (seed !== undefined) raw.push({ key: "llm.prediction.seed", value: { checked: true, value: seed } });
  return { settings, raw };
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

type ModelProblem = "notFound" | "nothingLoaded";

/** The SDK turns LM Studio's error codes into boxed prose; these phrases identify them. */
export function modelProblem(error: unknown): ModelProblem | undefined {
  const text = messageParagraphs(error instanceof Error ? error.message : String(error)).join(" ");
  if (/Cannot find a model with path/i.test(text)) return "notFound";
  if (/No loaded model satisfies/i.test(text)) return "nothingLoaded";
  return undefined;
}

export function modelErrorMessage(problem: ModelProblem, key: string | undefined, available?: string[]): string {
  // The keys come from the server: shown, never obeyed, should one carry an escape sequence.
  const keys = available?.map((modelKey) => escapeControls(modelKey));
  const list = keys === undefined ? "" : keys.length === 0 ? "; no models are downloaded" : `; downloaded models: ${keys.join(", ")}`;
  return problem === "notFound"
    ? `model "${key}" not found${list}`
    : `no model is loaded in LM Studio: load one, or name one with --model or LMC_MODEL${list}`;
}

const unreachableCodes = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "EAI_AGAIN", "ECONNRESET"]);

/** An error met before the prediction started that means nothing is listening there. */
export function connectionError(error: unknown, host: string): LmcError | undefined {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  const unreachable = (why: string, advice = `start its server (in the app, or with "lms server start") or point --host / LMC_HOST at it`) =>
    new LmcError(`cannot reach LM Studio at ${host} (${why})${advice ? `: ${advice}` : ""}`, ExitCode.unreachable, { cause: error });
  // wss:// to a plain ws:// server: OpenSSL reads the HTTP reply as a TLS record and gives up.
  if (host.startsWith("wss:") && (code === "EPROTO" || /SSL routines|TLS connection/i.test(message))) {
    return unreachable("TLS handshake failed: is the server plain ws://?", "");
  }
  if (typeof code === "string" && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return unreachable(`its TLS certificate is not trusted: ${code}`, "");
  }
  const notLmStudio = /Unexpected server response|Invalid WebSocket frame|WebSocket was closed/i.test(message);
  if (!(typeof code === "string" && unreachableCodes.has(code)) && !notLmStudio) return undefined;
  return unreachable(typeof code === "string" ? code : plainText(message));
}

/** Any other error of the SDK, as one line without its frame or stack trace (that is for --verbose). */
function unexpectedError(error: unknown): LmcError {
  if (error instanceof LmcError) return error;
  return new LmcError(errorLine(error instanceof Error ? error.message : String(error)), ExitCode.failed, { cause: error });
}

/** The server turned the handshake down: a wrong token, or none where one is required. */
export function authenticationError(error: unknown, host: string, sentToken: boolean): LmcError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  if (!/^Failed to authenticate/.test(message)) return undefined;
  const why = plainText(message.replace(/^Failed to authenticate:\s*/, ""));
  return new LmcError(
    sentToken
      ? `LM Studio at ${host} refused the API token in LM_API_TOKEN (${why})`
      : `LM Studio at ${host} requires an API token (${why}): set LM_API_TOKEN to one made in LM Studio`,
    ExitCode.unauthorized,
    { cause: error },
  );
}

/** The connection broke while lmc was waiting on it: one message for it, wherever it happened. */
function lostConnection(error: unknown, host: string): ConnectionLostError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  return /WebSocket connection closed|ECONNRESET|socket hang up/i.test(message) ? new ConnectionLostError(host, error) : undefined;
}

function streamError(error: unknown, host: string): LmcError {
  if (error instanceof LmcError) return error;
  const lost = lostConnection(error, host);
  if (lost) return lost;
  // The SDK reconnects for each new prediction: a server that has gone away refuses it.
  const unreachable = connectionError(error, host);
  if (unreachable) return unreachable;
  const title = (error as { title?: unknown })?.title;
  const text = plainText(typeof title === "string" ? title : error instanceof Error ? error.message : String(error));
  return new LmcError(`the prediction failed: ${text}`, ExitCode.failed, { cause: error });
}
