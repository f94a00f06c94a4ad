// The inference engine (engine.ts) on the real tiny model, through node-llama-cpp.
// Run: npx vitest run test/server/engine.test.ts

import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTinyModel } from "./model-catalog.js";
import { createEngine, PromptTooLongError } from "./engine.js";
import type { CompletionRequest, CompletionResult, Engine, LoadedModel } from "./engine-types.js";

const MODEL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../build/tiny-model.gguf");

interface Run extends CompletionResult {
  text: string;
  fragments: Array<[string, number]>;
  progress: Array<[number, number]>;
}

async function run(model: LoadedModel, request: Omit<CompletionRequest, "onFragment"> & Partial<Pick<CompletionRequest, "onFragment">>): Promise<Run> {
  const fragments: Array<[string, number]> = [];
  const progress: Array<[number, number]> = [];
  const result = await model.complete({
    ...request,
    onPromptProgress: (a, b) => {
      progress.push([a, b]);
      request.onPromptProgress?.(a, b);
    },
    onFragment: async (text, count) => {
      fragments.push([text, count]);
      await request.onFragment?.(text, count);
    },
  });
  return { ...result, text: fragments.map((f) => f[0]).join(""), fragments, progress };
}

function expectConsistentCounts(r: Run): void {
  expect(r.fragments.reduce((a, f) => a + f[1], 0)).toBe(r.predictedTokensCount);
  for (const [text, count] of r.fragments) {
    expect(text.length).toBeGreaterThan(0);
    expect(count).toBeGreaterThan(0);
  }
}

let engine: Engine;
let model: LoadedModel;

beforeAll(async () => {
  await ensureTinyModel(MODEL);
  engine = await createEngine();
  model = await engine.load(MODEL);
});

afterAll(async () => {
  await engine?.close();
});

describe("engine: loading", () => {
  it("describes the loaded model", () => {
    expect(model.contextLength).toBe(2048);
    expect(model.maxContextLength).toBe(2048);
    expect(model.architecture).toBe("llama");
    expect(model.sizeBytes).toBeGreaterThan(100_000);
  });

  it("tokenizes like the model (no BOS), any text", () => {
    expect(model.tokenize("My name is").length).toBe(3);
    expect(model.tokenize("").length).toBe(0);
    expect(model.tokenize("\uD800\uFFFF 日本 🎉\u0000").length).toBeGreaterThan(5);
  });
});

describe("engine: completions", () => {
  it("greedy: readable words, identical every time, real stats", async () => {
    const a = await run(model, { prompt: "My name is", maxTokens: 40, temperature: 0 });
    const b = await run(model, { prompt: "My name is", maxTokens: 40, temperature: 0 });
    expect(a.text).toBe(b.text);
    expect(a.text.startsWith(" Anna. I am a baker in the town.")).toBe(true);
    expect(a.text).toMatch(/^[A-Za-z .,]+$/);
    expect(a.stopReason).toBe("maxPredictedTokensReached");
    expect(a.predictedTokensCount).toBe(40);
    expect(a.promptTokensCount).toBe(4); // <s> My ▁name ▁is
    expectConsistentCounts(a);
    expect(a.progress[0]).toEqual([0, 4]);
    expect(a.progress.at(-1)).toEqual([4, 4]);
    expect(a.timeToFirstTokenSec).toBeGreaterThan(0);
    expect(a.totalTimeSec).toBeGreaterThanOrEqual(a.timeToFirstTokenSec);
    expect(a.tokensPerSecond).toBeGreaterThan(50);
  });

  it("sampling: a fixed seed repeats, another seed differs", async () => {
    const request = { prompt: "My name is", maxTokens: 40, temperature: 1, topK: 0, topP: 1, minP: 0, repeatPenalty: 1 };
    const a = await run(model, { ...request, seed: 42 });
    const b = await run(model, { ...request, seed: 42 });
    const c = await run(model, { ...request, seed: 7 });
    expect(a.text).toBe(b.text);
    expect(c.text).not.toBe(a.text);
    expectConsistentCounts(a);
    // Defaults (temperature 0.8 etc.) with a seed are deterministic too.
    const d = await run(model, { prompt: "The sea", maxTokens: 30, seed: 5 });
    const e = await run(model, { prompt: "The sea", maxTokens: 30, seed: 5 });
    expect(d.text).toBe(e.text);
  });

  it("stops before a stop string, which is not emitted", async () => {
    const r = await run(model, { prompt: "My name is", maxTokens: 40, temperature: 0, stopStrings: ["."] });
    expect(r.text).toBe(" Anna");
    expect(r.stopReason).toBe("stopStringFound");
    expect(r.stopString).toBe(".");
    expect(r.predictedTokensCount).toBe(1);
    expectConsistentCounts(r);
  });

  it("finds stop strings across tokens and inside a token; the earliest wins", async () => {
    const across = await run(model, { prompt: "My name is", maxTokens: 40, temperature: 0, stopStrings: ["zzz", "baker in the"] });
    expect(across.text).toBe(" Anna. I am a ");
    expect(across.stopString).toBe("baker in the");
    expectConsistentCounts(across);
    const inside = await run(model, { prompt: "My name is", maxTokens: 40, temperature: 0, stopStrings: ["own", "I am"] });
    expect(inside.text).toBe(" Anna. ");
    expect(inside.stopString).toBe("I am");
    const partial = await run(model, { prompt: "My name is", maxTokens: 40, temperature: 0, stopStrings: ["ake"] });
    expect(partial.text).toBe(" Anna. I am a b");
    expect(partial.predictedTokensCount).toBe(6); // " b" comes from the token " baker", which counts
    expectConsistentCounts(partial);
    // A stop string that only starts to match is released when it does not continue.
    const held = await run(model, { prompt: "My name is", maxTokens: 12, temperature: 0, stopStrings: ["town!"] });
    expect(held.text).toBe(" Anna. I am a baker in the town. I am");
    expect(held.stopReason).toBe("maxPredictedTokensReached");
    expectConsistentCounts(held);
  });

  it("respects maxTokens exactly", async () => {
    for (const maxTokens of [1, 2, 7]) {
      const r = await run(model, { prompt: "The", maxTokens, temperature: 0 });
      expect(r.predictedTokensCount).toBe(maxTokens);
      expect(r.stopReason).toBe("maxPredictedTokensReached");
      expectConsistentCounts(r);
    }
  });

  it("ends by itself on </s>", async () => {
    const r = await run(model, { prompt: "and they lived happily ever", temperature: 0 });
    expect(r.text).toBe(" after");
    expect(r.stopReason).toBe("eosFound");
    expect(r.predictedTokensCount).toBe(1);
  });

  it("an abort ends the prediction with userStopped, without throwing", async () => {
    const controller = new AbortController();
    const r = await run(model, {
      prompt: "My name is",
      temperature: 0,
      signal: controller.signal,
      onFragment: () => {
        controller.abort();
      },
    });
    expect(r.stopReason).toBe("userStopped");
    expect(r.predictedTokensCount).toBe(1);
    expectConsistentCounts(r);

    const before = await run(model, { prompt: "My name is", signal: AbortSignal.abort() });
    expect(before.stopReason).toBe("userStopped");
    expect(before.predictedTokensCount).toBe(0);
  });

  it("awaits onFragment (backpressure)", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const r = await run(model, {
      prompt: "My name is",
      maxTokens: 5,
      temperature: 0,
      onFragment: async () => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, 20));
        inFlight--;
      },
    });
    expect(r.fragments.length).toBe(5);
    expect(maxInFlight).toBe(1);
    expect(r.totalTimeSec).toBeGreaterThan(0.09);
  });

  it("runs 4 predictions at once, each as if alone", async () => {
    const requests = [
      { prompt: "My name is", maxTokens: 300, temperature: 0 },
      { prompt: "$ ls\n", maxTokens: 300, temperature: 0.9, seed: 3 },
      { prompt: "The sea", maxTokens: 300, temperature: 1, seed: 11 },
      { prompt: "One, two,", maxTokens: 300, temperature: 0.5, seed: 99, stopStrings: ["\n$"] },
    ];
    const sequential: Run[] = [];
    for (const r of requests) sequential.push(await run(model, r));

    const finished: number[] = [];
    const firstFragmentAt: number[] = [];
    const concurrent = await Promise.all(
      requests.map((r, i) =>
        run(model, {
          ...r,
          onFragment: () => {
            firstFragmentAt[i] ??= performance.now();
          },
        }).then((res) => {
          finished[i] = performance.now();
          return res;
        }),
      ),
    );
    for (let i = 0; i < requests.length; i++) {
      expect(concurrent[i]!.text).toBe(sequential[i]!.text);
      expect(concurrent[i]!.stopReason).toBe(sequential[i]!.stopReason);
      expect(concurrent[i]!.predictedTokensCount).toBe(sequential[i]!.predictedTokensCount);
    }
    // Interleaved: every prediction streamed before the first one finished.
    const longRunning = concurrent.map((c, i) => (c.predictedTokensCount > 100 ? i : -1)).filter((i) => i >= 0);
    const firstFinish = Math.min(...longRunning.map((i) => finished[i]!));
    for (const i of longRunning) expect(firstFragmentAt[i]!).toBeLessThan(firstFinish);
  });

  it("queues predictions beyond the parallel sequences", async () => {
    const results = await Promise.all(Array.from({ length: 7 }, (_, i) => run(model, { prompt: "My name is", maxTokens: 20 + i, temperature: 0 })));
    const alone = await run(model, { prompt: "My name is", maxTokens: 26, temperature: 0 });
    results.forEach((r, i) => expect(r.predictedTokensCount).toBe(20 + i));
    expect(results[6]!.text).toBe(alone.text);
  });

  it("copes with unusual unicode and broken surrogates in the prompt", async () => {
    for (const prompt of ["\uD800\uDC00\uDFFF \uFFFE\uFFFF 日本語 🎉 \u0000\u0007 héllo\u200B", "", " ", "\n\n\n"]) {
      const r = await run(model, { prompt, maxTokens: 10, temperature: 0 });
      expect(r.predictedTokensCount).toBe(10);
      expectConsistentCounts(r);
    }
  });

  it("rejects a prompt longer than the context, saying how long both are", async () => {
    const huge = "The town is quiet. ".repeat(Math.ceil((10 * 1024 * 1024) / 19));
    const started = performance.now();
    const error = await model.complete({ prompt: huge, maxTokens: 5, onFragment: () => {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PromptTooLongError);
    expect((error as Error).message).toMatch(/The prompt has at least \d+ tokens .*the context length is 2048 tokens/);
    expect(performance.now() - started).toBeLessThan(2000);

    const long = "The town is quiet. ".repeat(600); // 5 tokens each, a final "▁", and <s>
    const exact = await model.complete({ prompt: long, onFragment: () => {} }).catch((e: unknown) => e);
    expect((exact as Error).message).toMatch(/^The prompt has 3002 tokens, but the context length is 2048 tokens/);
    expect(exact).toMatchObject({ promptTokensCount: 3002, contextLength: 2048, exact: true });

    // The engine still works afterwards.
    const r = await run(model, { prompt: "My name is", maxTokens: 3, temperature: 0 });
    expect(r.text).toBe(" Anna. I");
  });

  it("produces valid JSON for a JSON schema", async () => {
    const schema = {
      type: "object",
      properties: { name: { type: "string" }, age: { type: "number" }, happy: { type: "boolean" } },
      required: ["name", "age", "happy"],
    };
    const r = await run(model, { prompt: "$ cat data.json\n", maxTokens: 200, temperature: 0, jsonSchema: schema });
    expect(r.stopReason).toBe("eosFound");
    const value = JSON.parse(r.text) as Record<string, unknown>;
    expect(Object.keys(value)).toEqual(["name", "age", "happy"]);
    expect(typeof value.name).toBe("string");
    expectConsistentCounts(r);
  });
});

describe("engine: context length and unloading", () => {
  let small: LoadedModel;

  beforeAll(async () => {
    small = await engine.load(MODEL, { contextLength: 64, parallel: 2 });
  });

  it("stops when the context is full", async () => {
    expect(small.contextLength).toBe(64);
    const r = await run(small, { prompt: "My name is", temperature: 0 });
    expect(r.stopReason).toBe("contextLengthReached");
    expect(r.promptTokensCount + r.predictedTokensCount).toBe(64);
    expectConsistentCounts(r);
    // The same sequence, reused: a clean state again.
    const again = await run(small, { prompt: "My name is", temperature: 0 });
    expect(again.text).toBe(r.text);
  });

  it("needs room for one predicted token", async () => {
    const prompt = "a".repeat(63); // "a" is one token: 63 + <s> = 64
    await expect(small.complete({ prompt, onFragment: () => {} })).rejects.toThrow(/The prompt has 64 tokens, but the context length is 64 tokens/);
    const r = await run(small, { prompt: prompt.slice(1), temperature: 0 });
    expect(r.predictedTokensCount).toBe(1);
    expect(r.stopReason).toBe("contextLengthReached");
  });

  it("unloading stops running predictions and refuses new ones", async () => {
    const running = run(small, { prompt: "My name is", temperature: 0, onFragment: () => new Promise((r) => setTimeout(r, 5)) });
    await new Promise((r) => setTimeout(r, 30));
    await small.unload();
    const r = await running;
    expect(r.stopReason).toBe("userStopped");
    await expect(small.complete({ prompt: "x", onFragment: () => {} })).rejects.toThrow(/unloaded/);
  });
});
