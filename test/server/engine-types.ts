// The contract between the test server's protocol layer (server.ts) and the
// inference engine that really runs the tiny model (engine.ts, node-llama-cpp).

export type StopReason = "eosFound" | "stopStringFound" | "maxPredictedTokensReached" | "contextLengthReached" | "userStopped";

export interface CompletionRequest {
  /** The raw prompt text, exactly as the model should see it. */
  prompt: string;
  /** Undefined: until end of sequence or the context is full. */
  maxTokens?: number;
  /** Generation ends before the first occurrence of any; it is not part of the output. */
  stopStrings?: string[];
  /** 0 means greedy. Undefined: engine default. */
  temperature?: number;
  seed?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repeatPenalty?: number;
  /** A JSON schema the output must satisfy (structured output). */
  jsonSchema?: unknown;
  /** Aborting ends generation with stopReason "userStopped" (no throw). */
  signal?: AbortSignal;
  /** Called with (processed, total) prompt tokens, at least with 0 and with total. */
  onPromptProgress?: (processed: number, total: number) => void;
  /** Called for each piece of generated text, with how many tokens it holds. Awaited. */
  onFragment: (text: string, tokensCount: number) => void | Promise<void>;
}

export interface CompletionResult {
  stopReason: StopReason;
  /** The stop string that ended generation, when stopReason is "stopStringFound". */
  stopString?: string;
  promptTokensCount: number;
  predictedTokensCount: number;
  timeToFirstTokenSec: number;
  totalTimeSec: number;
  tokensPerSecond: number;
}

/** One message of a chat, for the model's prompt template. */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** LM Studio's applyPromptTemplate options. */
export interface PromptTemplateOptions {
  /** Leave out the BOS token the template begins with. */
  omitBosToken?: boolean;
  /** Leave out an EOS token the template ends with. */
  omitEosToken?: boolean;
}

export interface LoadedModel {
  /** Context length the model was loaded with. */
  contextLength: number;
  /** Context length the model was trained with (GGUF metadata). */
  maxContextLength: number;
  architecture: string;
  sizeBytes: number;
  complete(request: CompletionRequest): Promise<CompletionResult>;
  /**
   * The model's tokens for `text`, special tokens (`<s>`, `<|im_start|>`) read as such, as a
   * prompt is read; without the BOS token a completion puts before a prompt that lacks one.
   */
  tokenize(text: string): number[];
  /**
   * The chat formatted with the model's own prompt template, ending with the opening of the
   * assistant's turn. Throws NoPromptTemplateError or PromptTemplateRenderError (prompt-template.ts).
   */
  applyPromptTemplate(messages: readonly ChatMessage[], options?: PromptTemplateOptions): string;
  unload(): Promise<void>;
}

export interface Engine {
  /** Loads a GGUF file. `parallel` predictions may run at once on it. */
  load(path: string, options?: { contextLength?: number; parallel?: number }): Promise<LoadedModel>;
  close(): Promise<void>;
}
