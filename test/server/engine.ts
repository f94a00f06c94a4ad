// The inference engine behind the test server: runs a real GGUF model (normally the
// tiny bigram model from scripts/tiny-model) through node-llama-cpp, CPU only.
//
// - One thread per context: on a 2-core machine more threads busy-wait against each
//   other, and tokens per second drop a hundredfold.
// - A loaded model has one context with `parallel` sequences (default 4); each
//   completion borrows a free sequence (waiting in FIFO order when none is free), clears
//   its history and evaluates the prompt from scratch, so no state leaks between
//   completions and greedy output is identical every time.
// - Prompts longer than the context are rejected with a PromptTooLongError (the message
//   says how many tokens the prompt has and how long the context is), like LM Studio,
//   which answers an error instead of truncating. A prompt must leave room for at least
//   one predicted token. Prompts of more than 1,000,000 characters that certainly do not
//   fit are rejected without being tokenized in full: the message then gives a lower bound.
// - Counting: promptTokensCount includes the BOS token the model adds. predictedTokensCount
//   is the number of tokens whose text was streamed (the sum of the fragments' tokensCount):
//   an end-of-sequence token and tokens that belong to a stop string are not counted.
// - Prompts are tokenized with special tokens read as such (`<s>`, `<|im_start|>`), as LM
//   Studio reads a prompt formatted with the model's template; a prompt that begins with the
//   BOS token's text gets no second one.

import { stat } from "node:fs/promises";
import { randomInt } from "node:crypto";
import {
  getLlama,
  LlamaGrammarEvaluationState,
  LlamaLogLevel,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaGrammar,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import type { ChatMessage, CompletionRequest, CompletionResult, Engine, LoadedModel, PromptTemplateOptions, StopReason } from "./engine-types.js";
import { PromptTemplate } from "./prompt-template.js";

/** LM Studio's defaults for sampling parameters a request leaves out. */
export const SAMPLING_DEFAULTS = { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1.1 } as const;
/** Tokens (prompt and predicted) the repeat penalty looks back on. */
const REPEAT_PENALTY_LAST_N = 64;
const DEFAULT_PARALLEL = 4;
/** Context length when none is asked for: the trained length, at most this. */
const MAX_DEFAULT_CONTEXT_LENGTH = 8192;
/** Prompt tokens evaluated per step (between steps: progress reports and abort checks). */
const PROMPT_CHUNK = 512;
/** Prompts up to this many characters are always tokenized exactly. */
const EXACT_COUNT_LIMIT = 1_000_000;
/** The JSON-schema grammar ends a value with four newlines (node-llama-cpp's convention). */
const JSON_GRAMMAR_END = "\n\n\n\n";
/** A decoded piece ending with this may be an incomplete UTF-8 sequence. */
const REPLACEMENT_CHAR = "\uFFFD";

/** The prompt does not fit in the context (with room for one predicted token). */
export class PromptTooLongError extends Error {
  constructor(
    readonly promptTokensCount: number,
    readonly contextLength: number,
    /** False when promptTokensCount is a lower bound (the prompt was not tokenized in full). */
    readonly exact: boolean,
    promptChars: number,
  ) {
    super(
      exact
        ? `The prompt has ${promptTokensCount} tokens, but the context length is ${contextLength} tokens ` +
            `(a prompt must leave room for at least one predicted token). ` +
            `Shorten the prompt or load the model with a longer context.`
        : `The prompt has at least ${promptTokensCount} tokens (${promptChars} characters), but the context length ` +
            `is ${contextLength} tokens. Shorten the prompt or load the model with a longer context.`,
    );
    this.name = "PromptTooLongError";
  }
}

// ---------------------------------------------------------------------------
// The native library: loaded once, shared by every engine of the process
// ---------------------------------------------------------------------------

let llamaPromise: Promise<Llama> | undefined;
let llamaUsers = 0;

async function acquireLlama(): Promise<Llama> {
  llamaUsers++;
  llamaPromise ??= getLlama({
    gpu: false,
    build: "never",
    maxThreads: 1,
    progressLogs: false,
    skipDownload: true,
    logLevel: LlamaLogLevel.error,
  });
  try {
    return await llamaPromise;
  } catch (error) {
    llamaUsers--;
    llamaPromise = undefined;
    throw error;
  }
}

async function releaseLlama(): Promise<void> {
  llamaUsers--;
  if (llamaUsers > 0 || llamaPromise === undefined) return;
  const p = llamaPromise;
  llamaPromise = undefined;
  await (await p).dispose();
}

// ---------------------------------------------------------------------------
// Streaming: tokens to text pieces, stop strings
// ---------------------------------------------------------------------------

/** Turns tokens into text, holding back tokens that end inside a UTF-8 sequence. */
class TokenDecoder {
  private held: Token[] = [];
  private recent: Token[] = [];

  constructor(private readonly model: LlamaModel) {}

  /** The text of `token` (with any held tokens), or undefined while it is incomplete. */
  push(token: Token): { text: string; count: number } | undefined {
    const group = [...this.held, token];
    const text = this.model.detokenize(group, false, this.recent);
    if (text.endsWith(REPLACEMENT_CHAR) && group.length < 4) {
      this.held = group;
      return undefined;
    }
    return this.take(group, text);
  }

  flush(): { text: string; count: number } | undefined {
    if (this.held.length === 0) return undefined;
    return this.take(this.held, this.model.detokenize(this.held, false, this.recent));
  }

  private take(group: Token[], text: string): { text: string; count: number } {
    this.held = [];
    this.recent = [...this.recent, ...group].slice(-8);
    return { text, count: group.length };
  }
}

interface StopMatch {
  index: number;
  stop: string;
  internal: boolean;
}

/**
 * Holds generated text back while it might be the beginning of a stop string, and cuts
 * it before the first stop string. Text is released in whole pieces (one piece = the
 * text of one or more tokens), so every released fragment knows its token count.
 */
class StopStringFilter {
  private pending = "";
  /** End offset (in `pending`) and token count of each piece in `pending`. */
  private pieces: Array<{ end: number; count: number }> = [];
  /** Tokens released with empty text, carried into the next non-empty fragment. */
  private carried = 0;
  stopped: StopMatch | undefined;

  constructor(private readonly stops: ReadonlyArray<{ text: string; internal: boolean }>) {}

  /** Adds a piece; returns the fragment that can be released now, if any. */
  add(text: string, count: number): { text: string; count: number } | undefined {
    this.pending += text;
    this.pieces.push({ end: this.pending.length, count });
    const match = this.firstMatch();
    if (match !== undefined) {
      this.stopped = match;
      return this.release(match.index, true);
    }
    return this.release(this.safeEnd(), false);
  }

  /** Everything still held (generation ended without a stop string). */
  flush(): { text: string; count: number } | undefined {
    return this.release(this.pending.length, true);
  }

  private firstMatch(): StopMatch | undefined {
    let best: StopMatch | undefined;
    for (const s of this.stops) {
      const index = this.pending.indexOf(s.text);
      if (index >= 0 && (best === undefined || index < best.index)) best = { index, stop: s.text, internal: s.internal };
    }
    return best;
  }

  /** Where a possible beginning of a stop string starts (the text before it is safe). */
  private safeEnd(): number {
    let end = this.pending.length;
    for (const s of this.stops) {
      const from = Math.max(0, this.pending.length - s.text.length + 1);
      for (let i = from; i < end; i++) {
        if (s.text.startsWith(this.pending.slice(i))) {
          end = i;
          break;
        }
      }
    }
    return end;
  }

  /**
   * Releases the text up to `end`. Not final: only whole pieces ending at or before `end`.
   * Final: exactly `end` characters, counting every piece that contributed to them.
   */
  private release(end: number, final: boolean): { text: string; count: number } | undefined {
    let count = this.carried;
    let cut = 0;
    let used = 0;
    let start = 0;
    for (const p of this.pieces) {
      const contributes = final ? start < end || p.end <= end : p.end <= end;
      if (!contributes) break;
      count += p.count;
      cut = final ? Math.min(p.end, end) : p.end;
      used++;
      start = p.end;
    }
    const text = this.pending.slice(0, cut);
    this.pending = this.pending.slice(cut);
    this.pieces = this.pieces.slice(used).map((p) => ({ end: p.end - cut, count: p.count }));
    if (text === "") {
      this.carried = count;
      return undefined;
    }
    this.carried = 0;
    return { text, count };
  }
}

// ---------------------------------------------------------------------------
// Sequences: a pool
// ---------------------------------------------------------------------------

class SequencePool {
  private readonly waiters: Array<(s: LlamaContextSequence | undefined) => void> = [];

  constructor(private readonly free: LlamaContextSequence[]) {}

  /** A free sequence, or undefined when `signal` aborts (or the pool closes) first. */
  acquire(signal?: AbortSignal): Promise<LlamaContextSequence | undefined> {
    const s = this.free.pop();
    if (s !== undefined) return Promise.resolve(s);
    if (signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter = (seq: LlamaContextSequence | undefined) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(seq);
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(undefined);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(s: LlamaContextSequence): void {
    const next = this.waiters.shift();
    if (next !== undefined) next(s);
    else this.free.push(s);
  }

  /** Every waiter gets undefined. */
  close(): void {
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}

// ---------------------------------------------------------------------------
// A loaded model
// ---------------------------------------------------------------------------

function normaliseSeed(seed: number | undefined): number {
  if (seed === undefined || !Number.isFinite(seed) || seed < 0) return randomInt(0, 2 ** 31);
  return Math.floor(seed) % 0xffffffff; // 0xFFFFFFFF means "random" to llama.cpp
}

class TinyLoadedModel implements LoadedModel {
  readonly contextLength: number;
  readonly maxContextLength: number;
  readonly architecture: string;
  private readonly pool: SequencePool;
  private readonly active = new Set<AbortController>();
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
  private maxPieceLength: number | undefined;
  private readonly promptTemplate: PromptTemplate;
  private unloaded = false;
  private unloading: Promise<void> | undefined;

  constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    sequences: LlamaContextSequence[],
    contextLength: number,
    readonly sizeBytes: number,
    private readonly onUnload: () => void,
  ) {
    // llama.cpp may make a context larger than asked for (at least 256 cells); the
    // length asked for is the one reported and enforced.
    this.contextLength = Math.min(contextLength, sequences[0]!.contextSize);
    this.maxContextLength = model.trainContextSize;
    this.architecture = model.fileInfo.metadata.general.architecture ?? "unknown";
    this.pool = new SequencePool(sequences);
    const tokens = model.tokens;
    this.promptTemplate = new PromptTemplate(model.fileInfo.metadata.tokenizer?.chat_template, {
      bos: tokens.bosString,
      eos: tokens.eosString,
      eot: tokens.eotString,
    });
  }

  tokenize(text: string): number[] {
    return [...this.model.tokenize(text, true)];
  }

  applyPromptTemplate(messages: readonly ChatMessage[], options?: PromptTemplateOptions): string {
    if (this.unloaded) throw new Error("The model was unloaded");
    return this.promptTemplate.render(messages, options);
  }

  async complete(request: CompletionRequest): Promise<CompletionResult> {
    if (this.unloaded) throw new Error("The model was unloaded");
    const controller = new AbortController();
    const onAbort = () => controller.abort();
    request.signal?.addEventListener("abort", onAbort, { once: true });
    if (request.signal?.aborted) controller.abort();
    this.active.add(controller);
    try {
      return await this.run(request, controller.signal);
    } finally {
      this.active.delete(controller);
      request.signal?.removeEventListener("abort", onAbort);
    }
  }

  private promptTokens(prompt: string): Token[] {
    const m = this.contextLength;
    if (prompt.length > EXACT_COUNT_LIMIT) {
      const atLeast = Math.ceil(prompt.length / this.longestPiece());
      if (atLeast >= m) throw new PromptTooLongError(atLeast, m, false, prompt.length);
    }
    const tokens = this.model.tokenize(prompt, true);
    const bos = this.model.tokens.bos;
    if (bos !== null && (this.model.tokens.shouldPrependBosToken || tokens.length === 0) && tokens[0] !== bos) tokens.unshift(bos);
    if (tokens.length === 0) throw new Error("The prompt is empty and the model has no BOS token");
    if (tokens.length >= m) throw new PromptTooLongError(tokens.length, m, true, prompt.length);
    return tokens;
  }

  /** The most characters one token can stand for. */
  private longestPiece(): number {
    if (this.maxPieceLength === undefined) {
      let longest = 1;
      const n = this.model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0;
      for (let t = 0; t < n; t++) longest = Math.max(longest, this.model.detokenize([t as Token], true).length);
      this.maxPieceLength = longest + 1; // margin: normalisation may add a character
    }
    return this.maxPieceLength;
  }

  private grammarFor(schema: unknown): Promise<LlamaGrammar> {
    const key = JSON.stringify(schema);
    let g = this.grammars.get(key);
    if (g === undefined) {
      // node-llama-cpp validates the schema at run time (it throws on what it does not support)
      g = this.llama.createGrammarForJsonSchema(schema as never) as Promise<LlamaGrammar>;
      g.catch(() => this.grammars.delete(key));
      this.grammars.set(key, g);
    }
    return g;
  }

  private async run(request: CompletionRequest, signal: AbortSignal): Promise<CompletionResult> {
    const prompt = this.promptTokens(request.prompt);
    const n = prompt.length;
    const grammar = request.jsonSchema !== undefined ? await this.grammarFor(request.jsonSchema) : undefined;
    const stops = (request.stopStrings ?? []).filter((s) => s.length > 0).map((text) => ({ text, internal: false }));
    if (grammar !== undefined) stops.push({ text: JSON_GRAMMAR_END, internal: true });

    const queuedAt = performance.now();
    const sequence = await this.pool.acquire(signal);
    if (sequence === undefined) {
      const waited = (performance.now() - queuedAt) / 1000;
      return {
        stopReason: "userStopped",
        promptTokensCount: n,
        predictedTokensCount: 0,
        timeToFirstTokenSec: waited,
        totalTimeSec: waited,
        tokensPerSecond: 0,
      };
    }
    const startedAt = performance.now();
    let firstTokenAt: number | undefined;
    let generated = 0;
    let predicted = 0;
    let stopReason: StopReason | undefined;
    let stopString: string | undefined;
    try {
      await sequence.clearHistory();
      const emit = async (fragment: { text: string; count: number } | undefined) => {
        if (fragment === undefined) return;
        predicted += fragment.count;
        await request.onFragment(fragment.text, fragment.count);
      };

      // The prompt, all but its last token, in chunks.
      request.onPromptProgress?.(0, n);
      for (let i = 0; i < n - 1; i += PROMPT_CHUNK) {
        if (signal.aborted) break;
        const end = Math.min(i + PROMPT_CHUNK, n - 1);
        await sequence.evaluateWithoutGeneratingNewTokens(prompt.slice(i, end));
        request.onPromptProgress?.(end, n); // end < n: the last token comes with the first prediction
      }

      const maxTokens = request.maxTokens;
      if (signal.aborted) stopReason = "userStopped";
      else if (maxTokens !== undefined && maxTokens <= 0) stopReason = "maxPredictedTokensReached";
      else {
        const decoder = new TokenDecoder(this.model);
        const filter = new StopStringFilter(stops);
        const history = [...prompt];
        const temperature = Math.max(0, request.temperature ?? SAMPLING_DEFAULTS.temperature);
        const penalty = request.repeatPenalty ?? SAMPLING_DEFAULTS.repeatPenalty;
        const grammarEvaluationState = grammar !== undefined ? new LlamaGrammarEvaluationState({ model: this.model, grammar }) : undefined;
        const tokens = sequence.evaluate([prompt[n - 1]!], {
          temperature,
          topK: Math.max(0, Math.floor(request.topK ?? SAMPLING_DEFAULTS.topK)),
          topP: request.topP ?? SAMPLING_DEFAULTS.topP,
          minP: request.minP ?? SAMPLING_DEFAULTS.minP,
          seed: normaliseSeed(request.seed),
          ...(penalty !== 1 && penalty > 0
            ? { repeatPenalty: { punishTokens: () => history.slice(-REPEAT_PENALTY_LAST_N), maxPunishTokens: REPEAT_PENALTY_LAST_N, penalty } }
            : {}),
          ...(grammarEvaluationState !== undefined ? { grammarEvaluationState } : {}),
          yieldEogToken: true,
        });
        for await (const token of tokens) {
          if (firstTokenAt === undefined) {
            firstTokenAt = performance.now();
            request.onPromptProgress?.(n, n);
          }
          if (this.model.isEogToken(token)) {
            stopReason = "eosFound";
            break;
          }
          generated++;
          history.push(token);
          const piece = decoder.push(token);
          if (piece !== undefined) await emit(filter.add(piece.text, piece.count));
          if (filter.stopped !== undefined) {
            if (filter.stopped.internal) stopReason = "eosFound";
            else {
              stopReason = "stopStringFound";
              stopString = filter.stopped.stop;
            }
            break;
          }
          if (signal.aborted) stopReason = "userStopped";
          else if (maxTokens !== undefined && generated >= maxTokens) stopReason = "maxPredictedTokensReached";
          else if (n + generated >= this.contextLength) stopReason = "contextLengthReached";
          if (stopReason !== undefined) break;
        }
        stopReason ??= "eosFound"; // the evaluation ended by itself
        if (filter.stopped === undefined) {
          const rest = decoder.flush();
          if (rest !== undefined) await emit(filter.add(rest.text, rest.count));
          if (filter.stopped === undefined) await emit(filter.flush());
        }
      }
    } finally {
      this.pool.release(sequence);
    }

    const endedAt = performance.now();
    const totalTimeSec = (endedAt - startedAt) / 1000;
    const timeToFirstTokenSec = ((firstTokenAt ?? endedAt) - startedAt) / 1000;
    const generationSec = firstTokenAt !== undefined ? (endedAt - firstTokenAt) / 1000 : 0;
    const tokensPerSecond =
      generated > 1 && generationSec > 0 ? (generated - 1) / generationSec : generated > 0 && totalTimeSec > 0 ? generated / totalTimeSec : 0;
    return {
      stopReason,
      ...(stopString !== undefined ? { stopString } : {}),
      promptTokensCount: n,
      predictedTokensCount: predicted,
      timeToFirstTokenSec,
      totalTimeSec,
      tokensPerSecond,
    };
  }

  unload(): Promise<void> {
    this.unloading ??= (async () => {
      this.unloaded = true;
      this.pool.close();
      for (const c of this.active) c.abort();
      while (this.active.size > 0) await new Promise((r) => setTimeout(r, 5));
      await this.context.dispose();
      await this.model.dispose();
      this.onUnload();
    })();
    return this.unloading;
  }
}

// ---------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------

class NodeLlamaEngine implements Engine {
  private readonly models = new Set<TinyLoadedModel>();
  private closed = false;

  constructor(private readonly llama: Llama) {}

  async load(path: string, options: { contextLength?: number; parallel?: number } = {}): Promise<LoadedModel> {
    if (this.closed) throw new Error("The engine is closed");
    const parallel = Math.max(1, Math.floor(options.parallel ?? DEFAULT_PARALLEL));
    const { size } = await stat(path);
    const model = await this.llama.loadModel({ modelPath: path, gpuLayers: 0 });
    try {
      const contextLength = Math.max(16, Math.floor(options.contextLength ?? Math.min(model.trainContextSize || 2048, MAX_DEFAULT_CONTEXT_LENGTH)));
      const context = await model.createContext({ contextSize: contextLength, sequences: parallel, threads: 1 });
      const sequences = Array.from({ length: parallel }, () => context.getSequence());
      const loaded = new TinyLoadedModel(this.llama, model, context, sequences, contextLength, size, () => this.models.delete(loaded));
      this.models.add(loaded);
      return loaded;
    } catch (error) {
      await model.dispose();
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.models].map((m) => m.unload()));
    await releaseLlama();
  }
}

/** Loads the native library (about 1 s the first time in a process). Close the engine when done. */
export async function createEngine(): Promise<Engine> {
  return new NodeLlamaEngine(await acquireLlama());
}
