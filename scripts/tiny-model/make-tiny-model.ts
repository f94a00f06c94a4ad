// Generates a tiny but real llama-architecture GGUF from corpus.txt: one-hot token
// embeddings, one transformer block that adds nothing (all output projections zero),
// and an output layer holding log P(next | current) bigram statistics. node-llama-cpp
// loads it and generates readable, deterministic text with it.
//
// Usage: npx tsx scripts/tiny-model/make-tiny-model.ts [OUT]   (default build/tiny-model.gguf)
// The output is byte-identical on every run.

import { readFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildBigrams } from "./bigrams.js";
import { encodeGguf, TensorType, type MetadataValue, type TensorSpec } from "./gguf-writer.js";
import { BOS_ID, buildVocab, EOS_ID, UNK_ID } from "./tokenizer.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const CORPUS_PATH = path.join(HERE, "corpus.txt");
export const DEFAULT_OUT = path.resolve(HERE, "../../build/tiny-model.gguf");

export const TINY_MODEL_NAME = "lmc tiny bigram";

/**
 * The model's own prompt template (GGUF `tokenizer.chat_template`), as instruct models
 * carry one: ChatML turns (the control tokens `<|im_start|>` and `<|im_end|>`) after the
 * BOS token, as Llama- and Mistral-style templates begin, and the opening of the
 * assistant's turn when the caller asks for a generation prompt.
 */
export const TINY_CHAT_TEMPLATE =
  "{{- bos_token }}" +
  "{%- for message in messages %}" +
  "{{- '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}" +
  "{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\n' }}{%- endif %}";

/** A template that does not parse (its loop is never closed), as broken templates found in the wild. */
export const BROKEN_CHAT_TEMPLATE = "{{- bos_token }}{%- for message in messages %}{{- message['content'] }}";

/** The same model with its template, without one, or with one that fails to render. */
export type TinyModelVariant = "chat" | "no-template" | "broken-template";

export function chatTemplateOf(variant: TinyModelVariant): string | undefined {
  if (variant === "chat") return TINY_CHAT_TEMPLATE;
  if (variant === "broken-template") return BROKEN_CHAT_TEMPLATE;
  return undefined;
}
export const TINY_CONTEXT_LENGTH = 2048;
const HEAD_COUNT = 2;
const HEAD_COUNT_KV = 1;
const HEAD_SIZE = 32;
const FFN_LENGTH = 32;
const RMS_EPS = 1e-5;

export function readCorpus(): string {
  return readFileSync(CORPUS_PATH, "utf8");
}

/** The whole GGUF file, in memory. Pure: same corpus and variant, same bytes. */
export function buildTinyModel(corpus: string = readCorpus(), variant: TinyModelVariant = "chat"): Buffer {
  const vocab = buildVocab(corpus);
  const nVocab = vocab.tokens.length;
  const bigrams = buildBigrams(corpus, vocab);
  const nEmbd = Math.ceil(bigrams.classCount / 32) * 32;

  // Token t's embedding is the one-hot vector of its context class.
  const tokenEmbd = new Float32Array(nVocab * nEmbd);
  for (let t = 0; t < nVocab; t++) tokenEmbd[t * nEmbd + bigrams.classOfToken[t]!] = 1;

  // output.weight is [n_embd, n_vocab]: row `next`, column `class`.
  const output = new Float32Array(nVocab * nEmbd);
  for (let c = 0; c < bigrams.classCount; c++) {
    for (let next = 0; next < nVocab; next++) output[next * nEmbd + c] = bigrams.logits[c * nVocab + next]!;
  }

  // RMS-normalising a one-hot vector gives 1/sqrt(1/n + eps); this weight brings it back to 1,
  // so the logits are the exact log-probabilities.
  const outputNorm = new Float32Array(nEmbd).fill(Math.sqrt(1 / nEmbd + RMS_EPS));
  const ones = new Float32Array(nEmbd).fill(1);
  const zeros = (a: number, b: number) => new Float32Array(a * b);
  const qDim = HEAD_COUNT * HEAD_SIZE;
  const kvDim = HEAD_COUNT_KV * HEAD_SIZE;
  const F16 = TensorType.F16;
  const F32 = TensorType.F32;

  const tensors: TensorSpec[] = [
    { name: "token_embd.weight", shape: [nEmbd, nVocab], type: F16, data: tokenEmbd },
    { name: "output_norm.weight", shape: [nEmbd], type: F32, data: outputNorm },
    { name: "output.weight", shape: [nEmbd, nVocab], type: F16, data: output },
    { name: "blk.0.attn_norm.weight", shape: [nEmbd], type: F32, data: ones },
    { name: "blk.0.attn_q.weight", shape: [nEmbd, qDim], type: F16, data: zeros(nEmbd, qDim) },
    { name: "blk.0.attn_k.weight", shape: [nEmbd, kvDim], type: F16, data: zeros(nEmbd, kvDim) },
    { name: "blk.0.attn_v.weight", shape: [nEmbd, kvDim], type: F16, data: zeros(nEmbd, kvDim) },
    { name: "blk.0.attn_output.weight", shape: [qDim, nEmbd], type: F16, data: zeros(qDim, nEmbd) },
    { name: "blk.0.ffn_norm.weight", shape: [nEmbd], type: F32, data: ones },
    { name: "blk.0.ffn_gate.weight", shape: [nEmbd, FFN_LENGTH], type: F16, data: zeros(nEmbd, FFN_LENGTH) },
    { name: "blk.0.ffn_up.weight", shape: [nEmbd, FFN_LENGTH], type: F16, data: zeros(nEmbd, FFN_LENGTH) },
    { name: "blk.0.ffn_down.weight", shape: [FFN_LENGTH, nEmbd], type: F16, data: zeros(FFN_LENGTH, nEmbd) },
  ];

  const u32 = (value: number): MetadataValue => ({ type: "u32", value });
  const metadata: Array<[string, MetadataValue]> = [
    ["general.architecture", { type: "string", value: "llama" }],
    ["general.name", { type: "string", value: TINY_MODEL_NAME }],
    ["general.file_type", u32(1)], // mostly F16
    ["llama.vocab_size", u32(nVocab)],
    ["llama.context_length", u32(TINY_CONTEXT_LENGTH)],
    ["llama.embedding_length", u32(nEmbd)],
    ["llama.block_count", u32(1)],
    ["llama.feed_forward_length", u32(FFN_LENGTH)],
    ["llama.attention.head_count", u32(HEAD_COUNT)],
    ["llama.attention.head_count_kv", u32(HEAD_COUNT_KV)],
    ["llama.attention.key_length", u32(HEAD_SIZE)],
    ["llama.attention.value_length", u32(HEAD_SIZE)],
    ["llama.rope.dimension_count", u32(HEAD_SIZE)],
    ["llama.attention.layer_norm_rms_epsilon", { type: "f32", value: RMS_EPS }],
    ["tokenizer.ggml.model", { type: "string", value: "llama" }],
    ["tokenizer.ggml.tokens", { type: "string[]", value: vocab.tokens }],
    ["tokenizer.ggml.scores", { type: "f32[]", value: vocab.scores }],
    ["tokenizer.ggml.token_type", { type: "i32[]", value: vocab.types }],
    ["tokenizer.ggml.bos_token_id", u32(BOS_ID)],
    ["tokenizer.ggml.eos_token_id", u32(EOS_ID)],
    ["tokenizer.ggml.unknown_token_id", u32(UNK_ID)],
    ["tokenizer.ggml.add_bos_token", { type: "bool", value: true }],
    ["tokenizer.ggml.add_eos_token", { type: "bool", value: false }],
    // true would detokenize every token without its leading space (stop strings with spaces never match)
    ["tokenizer.ggml.add_space_prefix", { type: "bool", value: false }],
  ];
  const chatTemplate = chatTemplateOf(variant);
  if (chatTemplate !== undefined) metadata.push(["tokenizer.chat_template", { type: "string", value: chatTemplate }]);

  return encodeGguf(metadata, tensors);
}

/** Writes the model to `outPath` (directories created; written to a temporary file, then renamed). */
export async function writeTinyModel(outPath: string = DEFAULT_OUT, variant: TinyModelVariant = "chat"): Promise<{ path: string; sizeBytes: number }> {
  const bytes = buildTinyModel(readCorpus(), variant);
  const resolved = path.resolve(outPath);
  await mkdir(path.dirname(resolved), { recursive: true });
  const tmp = `${resolved}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, resolved);
  } finally {
    await rm(tmp, { force: true });
  }
  return { path: resolved, sizeBytes: bytes.length };
}

const invokedAsScript = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedAsScript) {
  const args = process.argv.slice(2);
  if (args.length > 1 || args.some((a) => a.startsWith("-"))) {
    process.stderr.write("usage: make-tiny-model.ts [OUT]   (default build/tiny-model.gguf)\n");
    process.exitCode = 2;
  } else {
    writeTinyModel(args[0] ?? DEFAULT_OUT).catch((error: unknown) => {
      process.stderr.write(`make-tiny-model: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    });
  }
}
