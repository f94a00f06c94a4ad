// Message shapes and helpers for the LM Studio websocket protocol, as spoken by
// @lmstudio/sdk 1.5 (and, where noted, 2.x). Written from the SDK's zod schemas:
// the client validates every server message and silently drops (with a
// communicationWarning back to us) anything that does not match.

import type { ChatMessage, CompletionRequest, PromptTemplateOptions } from "./engine-types.js";

// ---------------------------------------------------------------------------
// Frames
// ---------------------------------------------------------------------------

/** The client's first frame on every socket. */
export interface AuthFrame {
  authVersion: 1;
  clientIdentifier: string;
  clientPasskey: string;
}

export type ClientMessage =
  | { type: "communicationWarning"; warning: string }
  | { type: "keepAlive" }
  | { type: "channelCreate"; endpoint: string; channelId: number; creationParameter?: unknown }
  | { type: "channelSend"; channelId: number; message?: unknown; ackId?: number }
  | { type: "channelAck"; channelId: number; ackId: number }
  | { type: "rpcCall"; endpoint: string; callId: number; parameter?: unknown }
  | { type: "signalSubscribe"; endpoint: string; subscribeId: number; creationParameter?: unknown }
  | { type: "signalUnsubscribe"; subscribeId: number }
  | { type: "writableSignalSubscribe"; endpoint: string; subscribeId: number; creationParameter?: unknown }
  | { type: "writableSignalUnsubscribe"; subscribeId: number }
  | { type: "writableSignalUpdate"; subscribeId: number; patches: unknown[]; tags: string[] };

export type ServerMessage =
  | { type: "communicationWarning"; warning: string }
  | { type: "keepAliveAck" }
  | { type: "channelSend"; channelId: number; message: unknown }
  | { type: "channelClose"; channelId: number }
  | { type: "channelError"; channelId: number; error: SerializedError }
  | { type: "rpcResult"; callId: number; result?: unknown }
  | { type: "rpcError"; callId: number; error: SerializedError }
  | { type: "signalError"; subscribeId: number; error: SerializedError }
  | { type: "writableSignalError"; subscribeId: number; error: SerializedError };

/** Parses and checks a client frame; returns a reason string when it is not acceptable. */
export function parseClientMessage(data: unknown): ClientMessage | string {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return "not a JSON object";
  const m = data as Record<string, unknown>;
  const isInt = (v: unknown) => typeof v === "number" && Number.isInteger(v);
  switch (m.type) {
    case "communicationWarning":
      return typeof m.warning === "string" ? (m as ClientMessage) : "communicationWarning without warning";
    case "keepAlive":
      return m as ClientMessage;
    case "channelCreate":
      return typeof m.endpoint === "string" && isInt(m.channelId) ? (m as ClientMessage) : "malformed channelCreate";
    case "channelSend":
      return isInt(m.channelId) ? (m as ClientMessage) : "malformed channelSend";
    case "channelAck":
      return isInt(m.channelId) && isInt(m.ackId) ? (m as ClientMessage) : "malformed channelAck";
    case "rpcCall":
      return typeof m.endpoint === "string" && isInt(m.callId) ? (m as ClientMessage) : "malformed rpcCall";
    case "signalSubscribe":
    case "writableSignalSubscribe":
      return typeof m.endpoint === "string" && isInt(m.subscribeId) ? (m as ClientMessage) : `malformed ${String(m.type)}`;
    case "signalUnsubscribe":
    case "writableSignalUnsubscribe":
    case "writableSignalUpdate":
      return isInt(m.subscribeId) ? (m as ClientMessage) : `malformed ${String(m.type)}`;
    default:
      return `unknown message type ${JSON.stringify(m.type)}`;
  }
}

export function isAuthFrame(data: unknown): data is AuthFrame {
  if (typeof data !== "object" || data === null) return false;
  const m = data as Record<string, unknown>;
  return m.authVersion === 1 && typeof m.clientIdentifier === "string" && typeof m.clientPasskey === "string";
}

// ---------------------------------------------------------------------------
// Errors (serializedLMSExtendedErrorSchema)
// ---------------------------------------------------------------------------

export interface ModelQuery {
  domain?: string;
  identifier?: string;
  path?: string;
  vision?: boolean;
}

export type ErrorDisplayData =
  | { code: "generic.specificModelUnloaded" }
  | {
      code: "generic.noModelMatchingQuery";
      query: ModelQuery;
      loadedModelsSample: string[];
      totalLoadedModels: number;
    }
  | { code: "generic.pathNotFound"; path: string; availablePathsSample: string[]; totalModels: number }
  | {
      code: "generic.identifierNotFound";
      identifier: string;
      loadedModelsSample: string[];
      totalLoadedModels: number;
    };

export interface SerializedError {
  title: string;
  rootTitle?: string;
  cause?: string;
  suggestion?: string;
  errorData?: Record<string, unknown>;
  displayData?: ErrorDisplayData;
  stack?: string;
}

export function makeError(title: string, extra: Omit<SerializedError, "title" | "rootTitle"> = {}): SerializedError {
  const error: SerializedError = { title, rootTitle: title };
  for (const [k, v] of Object.entries(extra)) {
    if (v !== undefined) (error as unknown as Record<string, unknown>)[k] = v;
  }
  return error;
}

const SAMPLE = 10;

export function noModelMatchingQueryError(query: ModelQuery, loadedIdentifiers: string[]): SerializedError {
  return makeError("No loaded model satisfies all requirements specified in the query.", {
    displayData: {
      code: "generic.noModelMatchingQuery",
      query,
      loadedModelsSample: loadedIdentifiers.slice(0, SAMPLE),
      totalLoadedModels: loadedIdentifiers.length,
    },
  });
}

export function pathNotFoundError(path: string, availableKeys: string[]): SerializedError {
  return makeError(`Cannot find a model with path "${path}"`, {
    displayData: {
      code: "generic.pathNotFound",
      path,
      availablePathsSample: availableKeys.slice(0, SAMPLE),
      totalModels: availableKeys.length,
    },
  });
}

export function identifierNotFoundError(identifier: string, loadedIdentifiers: string[]): SerializedError {
  return makeError(`Cannot find a model with identifier "${identifier}"`, {
    displayData: {
      code: "generic.identifierNotFound",
      identifier,
      loadedModelsSample: loadedIdentifiers.slice(0, SAMPLE),
      totalLoadedModels: loadedIdentifiers.length,
    },
  });
}

export function specificModelUnloadedError(): SerializedError {
  return makeError("This model has already been unloaded.", {
    displayData: { code: "generic.specificModelUnloaded" },
  });
}

export function errorFromException(title: string, error: unknown): SerializedError {
  const e = error instanceof Error ? error : new Error(String(error));
  return makeError(title, { cause: e.message, stack: e.stack });
}

// ---------------------------------------------------------------------------
// KV config stacks
// ---------------------------------------------------------------------------

export interface KVConfigField {
  key: string;
  value: unknown;
}
export interface KVConfig {
  fields: KVConfigField[];
}
export interface KVConfigStackLayer {
  layerName: string;
  config: KVConfig;
}
export interface KVConfigStack {
  layers: KVConfigStackLayer[];
}

/** Collapses a config stack into one record by key; later layers win (as the SDK's collapseKVStack). */
export function mergeKVStack(stack: unknown): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  const layers = (stack as Partial<KVConfigStack> | undefined)?.layers;
  if (!Array.isArray(layers)) return merged;
  for (const layer of layers) {
    const fields = layer?.config?.fields;
    if (!Array.isArray(fields)) continue;
    for (const field of fields) {
      if (field && typeof field.key === "string") merged[field.key] = field.value;
    }
  }
  return merged;
}

export function kvToFields(record: Record<string, unknown>): KVConfigField[] {
  return Object.entries(record).map(([key, value]) => ({ key, value }));
}

/** Keys of the prediction config (llm.prediction.*), as the SDK's globalConfigSchematics names them. */
export const PredictionKeys = {
  temperature: "llm.prediction.temperature",
  maxPredictedTokens: "llm.prediction.maxPredictedTokens", // {checked, value}
  stopStrings: "llm.prediction.stopStrings", // string[]
  structured: "llm.prediction.structured", // {type: "none"|"json"|"gbnf", jsonSchema?, gbnfGrammar?}
  seed: "llm.prediction.seed", // {checked, value}; only reachable through `raw` in SDK 1.5
  topK: "llm.prediction.topKSampling", // number
  topP: "llm.prediction.topPSampling", // {checked, value}
  minP: "llm.prediction.minPSampling", // {checked, value}
  repeatPenalty: "llm.prediction.repeatPenalty", // {checked, value}
  promptTemplate: "llm.prediction.promptTemplate", // {type, jinjaPromptTemplate?, stopStrings}
} as const;

export const LoadKeys = {
  contextLength: "llm.load.contextLength",
  seed: "llm.load.seed",
} as const;

function asNumber(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/**
 * Reads a "checkboxNumeric" value ({checked, value}). Returns the number when checked,
 * `disabled` when unchecked, undefined when absent. Accepts a bare number too.
 */
export function checkboxNumeric(v: unknown): number | "disabled" | undefined {
  if (typeof v === "number") return asNumber(v);
  if (typeof v === "object" && v !== null) {
    const o = v as { checked?: unknown; value?: unknown };
    if (o.checked === false) return "disabled";
    if (o.checked === true) return asNumber(o.value);
  }
  return undefined;
}

/** The sampling part of an engine request: what a prediction config can set. */
export type EngineSampling = Omit<CompletionRequest, "prompt" | "signal" | "onPromptProgress" | "onFragment">;

/** Turns merged prediction KV fields into the engine's sampling options. */
export function samplingFromConfig(config: Record<string, unknown>): EngineSampling {
  const out: EngineSampling = {};
  const max = checkboxNumeric(config[PredictionKeys.maxPredictedTokens]);
  if (typeof max === "number" && max >= 0) out.maxTokens = max;

  const stops = new Set<string>();
  const s = config[PredictionKeys.stopStrings];
  if (Array.isArray(s)) for (const x of s) if (typeof x === "string" && x !== "") stops.add(x);
  const tpl = config[PredictionKeys.promptTemplate] as { stopStrings?: unknown } | undefined;
  if (tpl && Array.isArray(tpl.stopStrings)) for (const x of tpl.stopStrings) if (typeof x === "string" && x !== "") stops.add(x);
  if (stops.size > 0) out.stopStrings = [...stops];

  const temperature = asNumber(config[PredictionKeys.temperature]);
  if (temperature !== undefined) out.temperature = temperature;

  const seed = checkboxNumeric(config[PredictionKeys.seed]);
  if (typeof seed === "number" && seed >= 0) out.seed = seed;

  const topK = asNumber(config[PredictionKeys.topK]);
  if (topK !== undefined) out.topK = topK;

  const topP = checkboxNumeric(config[PredictionKeys.topP]);
  if (topP === "disabled") out.topP = 1;
  else if (topP !== undefined) out.topP = topP;

  const minP = checkboxNumeric(config[PredictionKeys.minP]);
  if (minP === "disabled") out.minP = 0;
  else if (minP !== undefined) out.minP = minP;

  const repeatPenalty = checkboxNumeric(config[PredictionKeys.repeatPenalty]);
  if (repeatPenalty === "disabled") out.repeatPenalty = 1;
  else if (repeatPenalty !== undefined) out.repeatPenalty = repeatPenalty;

  const structured = config[PredictionKeys.structured] as { type?: unknown; jsonSchema?: unknown } | undefined;
  if (structured && structured.type === "json" && structured.jsonSchema !== undefined) {
    out.jsonSchema = structured.jsonSchema;
  }
  return out;
}

// ---------------------------------------------------------------------------
// Chat history (1.x `predict`)
// ---------------------------------------------------------------------------

/**
 * The prompt the model sees for a 1.x `predict`: SDK 1.5's `complete()` sends the prompt as
 * one user message and a `completeModeFormatting` layer whose Jinja template emits each
 * message's content verbatim, so the rendered prompt is the concatenation of the text parts.
 */
export function promptFromHistory(history: unknown): string {
  const messages = (history as { messages?: unknown } | undefined)?.messages;
  if (!Array.isArray(messages)) return "";
  let out = "";
  for (const message of messages) {
    const content = (message as { content?: unknown })?.content;
    if (typeof content === "string") {
      out += content;
      continue;
    }
    if (!Array.isArray(content)) continue;
    for (const part of content) {
      const p = part as { type?: unknown; text?: unknown; content?: unknown };
      if (p.type === "text" && typeof p.text === "string") out += p.text;
      else if (p.type === "toolCallResult" && typeof p.content === "string") out += p.content;
    }
  }
  return out;
}

/**
 * The messages of an `applyPromptTemplate` chat (chatHistoryDataSchema), each message's text
 * parts joined, as LM Studio hands them to the template. Files and tool calls have no
 * place in the tiny model's template: a message made only of them is an error.
 */
export function chatMessagesFromHistory(history: unknown): ChatMessage[] {
  const messages = (history as { messages?: unknown } | undefined)?.messages;
  if (!Array.isArray(messages)) throw new ProtocolShapeError("the chat history has no messages");
  return messages.map((message, index) => {
    const m = message as { role?: unknown; content?: unknown };
    if (m?.role !== "system" && m?.role !== "user" && m?.role !== "assistant") {
      throw new ProtocolShapeError(`message ${index} has the role ${JSON.stringify(m?.role)}, which the test server does not format`);
    }
    const parts = Array.isArray(m.content) ? (m.content as Array<{ type?: unknown; text?: unknown }>) : [];
    const texts = parts.filter((p) => p?.type === "text" && typeof p.text === "string").map((p) => p.text as string);
    if (texts.length !== parts.length) throw new ProtocolShapeError(`message ${index} has parts that are not text`);
    return { role: m.role, content: texts.join("") };
  });
}

/** A request the client's schema allows but the test server does not serve. */
export class ProtocolShapeError extends Error {}

/** applyPromptTemplate's `opts` (llmApplyPromptTemplateOptsSchema). */
export function promptTemplateOptions(opts: unknown): PromptTemplateOptions {
  const o = (opts ?? {}) as { omitBosToken?: unknown; omitEosToken?: unknown };
  return { omitBosToken: o.omitBosToken === true, omitEosToken: o.omitEosToken === true };
}

/** What a suggestion says about a model's prompt template. */
const TEMPLATE_SUGGESTION = "This is an issue with the model's prompt template: choose a model that has one, or set a prompt template in the model's settings.";

/** applyPromptTemplate on a model whose file has no chat template. */
export function noPromptTemplateError(modelKey: string): SerializedError {
  return makeError(`Failed to apply prompt template: the model "${modelKey}" has no prompt template.`, { suggestion: TEMPLATE_SUGGESTION });
}

/** applyPromptTemplate on a model whose template does not render (LM Studio's title). */
export function promptTemplateRenderError(title: string): SerializedError {
  return makeError(title, { suggestion: TEMPLATE_SUGGESTION });
}

// ---------------------------------------------------------------------------
// Prediction stream packets
// ---------------------------------------------------------------------------

export function promptProgressPacket(processed: number, total: number) {
  const progress = total > 0 ? Math.min(1, Math.max(0, processed / total)) : 1;
  return {
    type: "promptProcessingProgress" as const,
    progress,
    // Required by 2.x clients (promptProcessingDetailsSchema); 1.5 strips it.
    details: {
      cachedTokenCount: 0,
      totalPromptTokenCount: total,
      processedPromptTokenCount: processed,
      unprocessedPromptTokenCount: Math.max(0, total - processed),
    },
  };
}

export type ReasoningType = "none" | "reasoning" | "reasoningStartTag" | "reasoningEndTag";

export function fragmentPacket(content: string, tokensCount: number, reasoningType: ReasoningType = "none") {
  return {
    type: "fragment" as const,
    fragment: {
      content,
      tokensCount,
      containsDrafted: false,
      reasoningType,
      isStructural: false,
    },
  };
}
