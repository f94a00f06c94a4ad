// The tiny model generator (scripts/tiny-model): deterministic output, a GGUF that
// node-llama-cpp reads, and a tokenizer that agrees with llama.cpp's.
// Run: npx vitest run test/server/tiny-model.test.ts

import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getLlama, GgmlType, LlamaLogLevel, readGgufFileInfo, type Llama, type LlamaModel } from "node-llama-cpp";
import {
  BROKEN_CHAT_TEMPLATE,
  buildTinyModel,
  readCorpus,
  TINY_CHAT_TEMPLATE,
  TINY_CONTEXT_LENGTH,
  TINY_MODEL_NAME,
  writeTinyModel,
} from "../../scripts/tiny-model/make-tiny-model.js";
import { buildVocab, CHAT_TOKENS, EOS_ID, tokenize, TokenType } from "../../scripts/tiny-model/tokenizer.js";
import { float32ToFloat16Bits } from "../../scripts/tiny-model/gguf-writer.js";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SCRIPT = path.join(REPO, "scripts/tiny-model/make-tiny-model.ts");

let dir: string;
let modelFile: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "lmc-tiny-"));
  modelFile = (await writeTinyModel(path.join(dir, "a", "tiny.gguf"))).path;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("make-tiny-model", () => {
  it("is byte-identical on every run, in memory, on disk and from the command line", async () => {
    // About 50 ms; the bound only catches a generator gone badly wrong on a loaded machine.
    const started = performance.now();
    const first = buildTinyModel();
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(buildTinyModel().equals(first)).toBe(true);
    expect((await readFile(modelFile)).equals(first)).toBe(true);

    const out = path.join(dir, "cli", "model.gguf");
    const stdout = execFileSync(process.execPath, ["--import", "tsx", SCRIPT, out], { cwd: REPO, encoding: "utf8" });
    expect(stdout).toBe("");
    expect((await readFile(out)).equals(first)).toBe(true);
  });

  it("writes its variants byte-identically too, differing only by their template", async () => {
    const corpus = readCorpus();
    const chat = buildTinyModel(corpus, "chat");
    const none = buildTinyModel(corpus, "no-template");
    const broken = buildTinyModel(corpus, "broken-template");
    expect(buildTinyModel(corpus, "no-template").equals(none)).toBe(true);
    expect(buildTinyModel(corpus, "broken-template").equals(broken)).toBe(true);
    expect(buildTinyModel().equals(chat)).toBe(true);
    const templateOf = async (bytes: Buffer, name: string) => {
      const file = path.join(dir, name);
      await writeFile(file, bytes);
      const info = await readGgufFileInfo(file, { logWarnings: false });
      return (info.metadata as { tokenizer?: { chat_template?: string } }).tokenizer?.chat_template;
    };
    expect(await templateOf(chat, "chat.gguf")).toBe(TINY_CHAT_TEMPLATE);
    expect(await templateOf(none, "none.gguf")).toBeUndefined();
    expect(await templateOf(broken, "broken.gguf")).toBe(BROKEN_CHAT_TEMPLATE);
  });

  it("is remade when a file in build/ was left by an older generator (its template differs)", async () => {
    const { ensureTinyModel, TINY_BROKEN_TEMPLATE_PATH } = await import("../server/model-catalog.js");
    // Put in place atomically: other test files may be loading this model at the same time.
    const stale = `${TINY_BROKEN_TEMPLATE_PATH}.stale.tmp`;
    await mkdir(path.dirname(stale), { recursive: true });
    await writeFile(stale, buildTinyModel(readCorpus(), "no-template"));
    await rename(stale, TINY_BROKEN_TEMPLATE_PATH);
    await ensureTinyModel(TINY_BROKEN_TEMPLATE_PATH);
    expect((await readFile(TINY_BROKEN_TEMPLATE_PATH)).equals(buildTinyModel(readCorpus(), "broken-template"))).toBe(true);
  });

  it("writes a small file", () => {
    const size = buildTinyModel().length;
    expect(size).toBeGreaterThan(100_000);
    expect(size).toBeLessThan(3_000_000);
  });

  it("rejects unknown options", () => {
    expect(() => execFileSync(process.execPath, ["--import", "tsx", SCRIPT, "--help"], { cwd: REPO, stdio: "pipe" })).toThrow(
      /usage: make-tiny-model\.ts \[OUT\]/,
    );
  });

  it("writes the metadata llama.cpp and LM Studio read", async () => {
    const info = await readGgufFileInfo(modelFile, { logWarnings: false });
    const md = info.metadata as unknown as Record<string, Record<string, unknown>>;
    expect(md.general!.architecture).toBe("llama");
    expect(md.general!.name).toBe(TINY_MODEL_NAME);
    expect((md.llama as Record<string, unknown>).context_length).toBe(TINY_CONTEXT_LENGTH);
    const ggml = (md.tokenizer as { ggml: Record<string, unknown> }).ggml;
    const tokens = ggml.tokens as string[];
    expect(ggml.model).toBe("llama");
    expect(tokens[ggml.eos_token_id as number]).toBe("</s>");
    expect(ggml.eos_token_id).toBe(EOS_ID);
    expect(ggml.add_space_prefix).toBe(false);
    for (const b of [0x00, 0x0a, 0x80, 0xff]) expect(tokens).toContain(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
    expect(new Set(tokens).size).toBe(tokens.length);
    // The chat template's markers: control tokens, last, so every other token keeps its id.
    const types = ggml.token_type as number[];
    expect(tokens.slice(-CHAT_TOKENS.length)).toEqual([...CHAT_TOKENS]);
    for (const t of CHAT_TOKENS) expect(types[tokens.indexOf(t)]).toBe(TokenType.CONTROL);
    // Offsets: running sum of the earlier tensors' sizes, each padded to 32 bytes.
    let offset = 0;
    for (const t of info.tensorInfo ?? []) {
      expect(Number(t.offset)).toBe(offset);
      const count = t.dimensions.reduce((a: number, b) => a * Number(b), 1);
      offset += Math.ceil((count * (t.ggmlType === GgmlType.F16 ? 2 : 4)) / 32) * 32;
    }
  });

  it("converts floats to half precision exactly", () => {
    expect(float32ToFloat16Bits(0)).toBe(0);
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(-20)).toBe(0xcd00);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(1e6)).toBe(0x7c00);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001);
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie: to even
    expect(float32ToFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
  });
});

describe("the tiny model in llama.cpp", () => {
  let llama: Llama;
  let model: LlamaModel;

  beforeAll(async () => {
    llama = await getLlama({ gpu: false, build: "never", maxThreads: 1, progressLogs: false, logLevel: LlamaLogLevel.error });
    model = await llama.loadModel({ modelPath: modelFile });
  });

  afterAll(async () => {
    await model?.dispose();
    await llama?.dispose();
  });

  it("tokenizes the corpus into whole words, exactly like the generator counted", () => {
    const corpus = readCorpus();
    const vocab = buildVocab(corpus);
    const ours = tokenize(corpus, vocab);
    expect([...model.tokenize(corpus)]).toEqual(ours);
    const words = model.tokenize("My name is Anna").map((t) => model.detokenize([t]));
    expect(words).toEqual(["My", " name", " is", " Anna"]);
  });

  it("tokenizes anything, falling back to byte tokens", () => {
    const vocab = buildVocab(readCorpus());
    for (const text of ["héllo 日本語 🎉", "\u0000\u0001\t\r\n", "zzq xylophone", "  two  spaces", "\uFFFD\u200B"]) {
      const tokens = [...model.tokenize(text)];
      expect(tokens).toEqual(tokenize(text, vocab));
      expect(model.detokenize(model.tokenize(text))).toBe(text);
    }
    expect(model.detokenize(model.tokenize("\uD800 lone surrogate"))).toBe("\uFFFD lone surrogate");
  });

  it("reads the template's markers as single tokens only where special tokens are parsed, and ends a turn on <|im_end|>", () => {
    const [start, end] = CHAT_TOKENS.map((t) => model.tokenize(t, true));
    expect(start).toHaveLength(1);
    expect(end).toHaveLength(1);
    expect(model.tokenize("<|im_start|>", false).length).toBeGreaterThan(1);
    expect(model.isEogToken(end![0])).toBe(true);
    expect(model.isEogToken(start![0])).toBe(false);
  });
});
