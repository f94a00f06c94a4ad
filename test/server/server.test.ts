// Drives the LM Studio-compatible test server with the real @lmstudio/sdk 1.5 client and the
// real tiny model (node-llama-cpp). Run: npx vitest run test/server/server.test.ts

import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { LMStudioClient, type LLMPredictionFragment } from "@lmstudio/sdk";
import { WebSocket } from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, TINY_MODEL_PATH, readGgufSummary } from "./model-catalog.js";
import { startTestServer, type TestServer, type TestServerOptions } from "./server.js";

const silentLogger = { debug() {}, info() {}, warn() {}, error() {} };
const PROMPT = "My name is";
const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;]*m/g, "");

const clients: LMStudioClient[] = [];
const extraServers: TestServer[] = [];
let server: TestServer;

function clientFor(s: TestServer, extra: { clientIdentifier?: string; clientPasskey?: string } = {}): LMStudioClient {
  const client = new LMStudioClient({ baseUrl: s.url, logger: silentLogger, ...extra });
  clients.push(client);
  return client;
}

async function withServer(options: TestServerOptions = {}): Promise<TestServer> {
  const s = await startTestServer({ quiet: true, ...options });
  extraServers.push(s);
  return s;
}

/** Resolves to "pending" when `p` has not settled after `ms`. */
async function settledWithin<T>(p: Promise<T>, ms: number): Promise<"pending" | "settled"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"pending">((resolve) => (timer = setTimeout(() => resolve("pending"), ms)));
  const result = await Promise.race([
    p.then(
      () => "settled" as const,
      () => "settled" as const,
    ),
    timeout,
  ]);
  clearTimeout(timer);
  return result;
}

function lastPrediction(s: TestServer) {
  const r = s.received.filter((x) => x.channel !== "getOrLoad").at(-1);
  if (r === undefined) throw new Error("no prediction received");
  return r;
}

beforeAll(async () => {
  server = await startTestServer({ quiet: true });
}, 60_000);

afterEach(async () => {
  const toDispose = clients.splice(0);
  // A client whose socket still carries an unanswered call only finishes disposing once the
  // connection ends; the servers are closed below, which ends it.
  const closing = extraServers.splice(0);
  await Promise.all(closing.map((s) => s.close()));
  await Promise.all(toDispose.map((c) => settledWithin(c[Symbol.asyncDispose](), 5_000)));
  for (const s of [server, ...closing]) expect(s.warnings).toEqual([]);
});

afterAll(async () => {
  await server?.close();
});

describe("discovery and handshake", () => {
  it("answers the greeting and listens on an ephemeral port", async () => {
    expect(server.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(server.port).toBeGreaterThan(0);
    const res = await fetch(`${server.httpUrl}/lmstudio-greeting`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ lmstudio: true });
    expect((await fetch(`${server.httpUrl}/nope`)).status).toBe(404);
  });

  it("checks a required token", async () => {
    const token = { clientIdentifier: "lmc-test", clientPasskey: "secret-passkey" };
    const s = await withServer({ requiredToken: token });
    const good = clientFor(s, token);
    expect((await good.llm.model()).identifier).toBe("lmc-tiny");
    const bad = clientFor(s, { clientIdentifier: "lmc-test", clientPasskey: "wrong" });
    await expect(bad.llm.model()).rejects.toThrow(/Failed to authenticate: Invalid client identifier or passkey/);
    const anonymous = clientFor(s);
    await expect(anonymous.system.listDownloadedModels()).rejects.toThrow(/Failed to authenticate/);
  }, 20_000);
});

describe("models", () => {
  it("gives both model handles for the loaded model", async () => {
    const client = clientFor(server);
    const any = await client.llm.model();
    const byKey = await client.llm.model("lmc-tiny");
    expect(any.identifier).toBe("lmc-tiny");
    expect(any.modelKey).toBe("lmc-tiny");
    expect(byKey.identifier).toBe("lmc-tiny");
    const info = await byKey.getModelInfo();
    expect(info).toMatchObject({
      type: "llm",
      modelKey: "lmc-tiny",
      format: "gguf",
      identifier: "lmc-tiny",
      vision: false,
      trainedForToolUse: false,
    });
    expect(info.sizeBytes).toBeGreaterThan(0);
    expect(info.contextLength).toBeGreaterThan(0);
    expect(info.maxContextLength).toBeGreaterThanOrEqual(info.contextLength);
    expect(info.instanceReference).toBe((await any.getModelInfo()).instanceReference);
    const load = server.received.filter((r) => r.channel === "getOrLoad").at(-1);
    expect(load).toMatchObject({ channel: "getOrLoad", modelKey: "lmc-tiny", identifier: "lmc-tiny" });
  }, 20_000);

  it("lists loaded and downloaded models", async () => {
    const client = clientFor(server);
    const loaded = await client.llm.listLoaded();
    expect(loaded.map((m) => m.identifier)).toContain("lmc-tiny");
    const downloaded = await client.system.listDownloadedModels();
    expect(downloaded.map((m) => m.modelKey).sort()).toEqual(["lmc-tiny", "lmc-tiny-unloaded"]);
    for (const m of downloaded) {
      expect(m).toMatchObject({ type: "llm", format: "gguf", vision: false, trainedForToolUse: false });
      expect(m.path).toMatch(/\.gguf$/);
      expect(m.maxContextLength).toBeGreaterThan(0);
    }
    expect(await client.system.listDownloadedModels("embedding")).toEqual([]);
  });

  it("loads a downloaded model just in time, with progress and the load config", async () => {
    const s = await withServer();
    const client = clientFor(s);
    const progress: number[] = [];
    const model = await client.llm.model("lmc-tiny-unloaded", {
      config: { contextLength: 512 },
      onProgress: (p) => progress.push(p),
    });
    expect(model.identifier).toBe("lmc-tiny-unloaded");
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(1);
    const load = s.received.find((r) => r.channel === "getOrLoad");
    expect(load?.loadConfig?.["llm.load.contextLength"]).toBe(512);
    expect((await model.getModelInfo()).contextLength).toBe(512);
    expect((await client.llm.listLoaded()).map((m) => m.identifier).sort()).toEqual(["lmc-tiny", "lmc-tiny-unloaded"]);
    // Now it is loaded: a second handle is immediate.
    const again = await client.llm.model("lmc-tiny-unloaded");
    expect(again.identifier).toBe("lmc-tiny-unloaded");
    const result = await model.complete(PROMPT, { maxTokens: 3, temperature: 0 });
    expect(result.modelInfo.identifier).toBe("lmc-tiny-unloaded");
    expect(lastPrediction(s)).toMatchObject({ modelKey: "lmc-tiny-unloaded", loadConfig: { "llm.load.contextLength": 512 } });
  }, 20_000);

  it("honours a cancelled load", async () => {
    const s = await withServer();
    const client = clientFor(s);
    const controller = new AbortController();
    const loading = client.llm.model("lmc-tiny-unloaded", {
      signal: controller.signal,
      onProgress: () => controller.abort(new Error("stop loading")),
    });
    await expect(loading).rejects.toThrow(/stop loading/);
    await new Promise((r) => setTimeout(r, 300));
    expect((await client.llm.listLoaded()).map((m) => m.identifier)).toEqual(["lmc-tiny"]);
  }, 20_000);

  it("explains an unknown model key", async () => {
    const client = clientFor(server);
    const error = await client.llm.model("no-such-model").catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    const message = stripAnsi((error as Error).message);
    expect(message).toContain('Cannot find a model with path "no-such-model"');
    expect(message).toContain("lmc-tiny");
    expect(message).toContain("lmc-tiny-unloaded");
  });

  it("reports when nothing is loaded (fault, option and runtime switch)", async () => {
    const s = await withServer({ fault: { type: "nothingLoaded" } });
    const client = clientFor(s);
    const error = await client.llm.model().catch((e: unknown) => e as Error);
    expect(stripAnsi((error as Error).message)).toContain("No loaded model satisfies all requirements");
    expect(await client.llm.listLoaded()).toEqual([]);
    expect(await client.system.listDownloadedModels()).toHaveLength(2);
    s.setFault({ type: "none" });
    expect((await client.llm.model()).identifier).toBe("lmc-tiny");

    const none = await withServer({ models: [{ key: "only-on-disk", loaded: false }] });
    const c2 = clientFor(none);
    await expect(c2.llm.model()).rejects.toThrow(/No loaded model satisfies all requirements/);
    expect(await c2.llm.listLoaded()).toEqual([]);
    const jit = await c2.llm.model("only-on-disk");
    expect(jit.identifier).toBe("only-on-disk");
    expect((await c2.llm.model()).identifier).toBe("only-on-disk");
  }, 20_000);
});

describe("completions", () => {
  it("streams fragments that make up the content, with real stats", async () => {
    const client = clientFor(server);
    const model = await client.llm.model("lmc-tiny");
    const progress: number[] = [];
    const prediction = model.complete(PROMPT, {
      maxTokens: 12,
      temperature: 0,
      onPromptProcessingProgress: (p) => progress.push(p),
    });
    const fragments: LLMPredictionFragment[] = [];
    for await (const fragment of prediction) fragments.push(fragment);
    const result = await prediction.result();
    expect(fragments.length).toBeGreaterThan(0);
    expect(fragments.map((f) => f.content).join("")).toBe(result.content);
    expect(result.content.length).toBeGreaterThan(0);
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(1);
    const tokens = await model.tokenize(PROMPT);
    expect(tokens.length).toBeGreaterThan(0);
    const stats = result.stats;
    // The model sees a BOS token before the prompt when its tokenizer says so.
    const { addBosToken } = await readGgufSummary(TINY_MODEL_PATH);
    const promptTokens = tokens.length + (addBosToken ? 1 : 0);
    expect(stats.promptTokensCount).toBe(promptTokens);
    expect(stats.predictedTokensCount).toBe(fragments.reduce((n, f) => n + f.tokensCount, 0));
    expect(stats.predictedTokensCount).toBeLessThanOrEqual(12);
    expect(stats.totalTokensCount).toBe(promptTokens + stats.predictedTokensCount!);
    expect(["maxPredictedTokensReached", "eosFound"]).toContain(stats.stopReason);
    expect(stats.tokensPerSecond).toBeGreaterThan(0);
    expect(stats.timeToFirstTokenSec).toBeGreaterThanOrEqual(0);
    expect(stats.totalTimeSec).toBeGreaterThan(0);
    expect(result.modelInfo.identifier).toBe("lmc-tiny");
    const received = lastPrediction(server);
    expect(received).toMatchObject({ channel: "predict", modelKey: "lmc-tiny", identifier: "lmc-tiny", prompt: PROMPT });
  }, 20_000);

  it("passes maxTokens", async () => {
    const model = await clientFor(server).llm.model();
    const result = await model.complete(PROMPT, { maxTokens: 3, temperature: 0 });
    expect(lastPrediction(server).config["llm.prediction.maxPredictedTokens"]).toEqual({ checked: true, value: 3 });
    expect(result.stats.predictedTokensCount).toBeLessThanOrEqual(3);
    if (result.stats.stopReason === "maxPredictedTokensReached") expect(result.stats.predictedTokensCount).toBe(3);
  }, 20_000);

  it("passes stop strings and stops before them", async () => {
    const model = await clientFor(server).llm.model();
    const full = await model.complete(PROMPT, { maxTokens: 40, temperature: 0 });
    // Pick a stop string that the unconstrained greedy output does contain.
    const stop = full.content.includes(".") ? "." : full.content.trim().split(/\s+/)[2]!;
    const result = await model.complete(PROMPT, { maxTokens: 40, temperature: 0, stopStrings: [stop] });
    expect(lastPrediction(server).config["llm.prediction.stopStrings"]).toEqual([stop]);
    expect(result.stats.stopReason).toBe("stopStringFound");
    expect(result.content).not.toContain(stop);
    expect(full.content.startsWith(result.content)).toBe(true);
  }, 20_000);

  it("passes temperature and seed: the same seed gives the same text", async () => {
    const model = await clientFor(server).llm.model();
    const opts = (seed: number) => ({
      maxTokens: 24,
      temperature: 1,
      raw: { fields: [{ key: "llm.prediction.seed", value: { checked: true, value: seed } }] },
    });
    const a = await model.complete(PROMPT, opts(42));
    const config = lastPrediction(server).config;
    expect(config["llm.prediction.temperature"]).toBe(1);
    expect(config["llm.prediction.seed"]).toEqual({ checked: true, value: 42 });
    const b = await model.complete(PROMPT, opts(42));
    expect(b.content).toBe(a.content);
    const others = await Promise.all([7, 8, 9].map((seed) => model.complete(PROMPT, opts(seed))));
    expect(others.some((r) => r.content !== a.content)).toBe(true);
  }, 30_000);

  it("passes topK, topP, minP and repeatPenalty", async () => {
    const model = await clientFor(server).llm.model();
    await model.complete(PROMPT, {
      maxTokens: 4,
      topKSampling: 5,
      topPSampling: 0.9,
      minPSampling: 0.1,
      repeatPenalty: 1.3,
    });
    const config = lastPrediction(server).config;
    expect(config["llm.prediction.topKSampling"]).toBe(5);
    expect(config["llm.prediction.topPSampling"]).toEqual({ checked: true, value: 0.9 });
    expect(config["llm.prediction.minPSampling"]).toEqual({ checked: true, value: 0.1 });
    expect(config["llm.prediction.repeatPenalty"]).toEqual({ checked: true, value: 1.3 });
    expect(config["llm.prediction.promptTemplate"]).toMatchObject({ type: "jinja" });

    await model.complete(PROMPT, { maxTokens: 2, topPSampling: false, minPSampling: false, repeatPenalty: false });
    const off = lastPrediction(server).config;
    expect(off["llm.prediction.topPSampling"]).toMatchObject({ checked: false });
    expect(off["llm.prediction.repeatPenalty"]).toMatchObject({ checked: false });
  }, 20_000);

  it("passes a JSON schema for structured output", async () => {
    const model = await clientFor(server).llm.model();
    const jsonSchema = {
      type: "object",
      properties: { name: { type: "string", maxLength: 12 } },
      required: ["name"],
    };
    const result = await model.complete(PROMPT, {
      maxTokens: 60,
      temperature: 0,
      structured: { type: "json", jsonSchema },
    });
    expect(lastPrediction(server).config["llm.prediction.structured"]).toEqual({ type: "json", jsonSchema });
    // The grammar ends the value, so the model stops by itself with parseable JSON.
    expect(result.stats.stopReason).toBe("eosFound");
    expect(JSON.parse(result.content)).toHaveProperty("name");
  }, 20_000);

  it("ends a cancelled prediction with userStopped", async () => {
    const s = await withServer({ fault: { type: "slow", delayMs: 40 } });
    const model = await clientFor(s).llm.model();
    const prediction = model.complete(PROMPT, { maxTokens: 200, temperature: 0 });
    const fragments: string[] = [];
    for await (const f of prediction) {
      fragments.push(f.content);
      if (fragments.length === 2) await prediction.cancel();
    }
    const result = await prediction.result();
    expect(result.stats.stopReason).toBe("userStopped");
    expect(fragments.length).toBeGreaterThanOrEqual(2);
    expect(fragments.length).toBeLessThan(10);

    // Cancelled through a signal, right at the start.
    const controller = new AbortController();
    const early = model.complete(PROMPT, { maxTokens: 200, signal: controller.signal });
    controller.abort();
    expect((await early).stats.stopReason).toBe("userStopped");
  }, 20_000);

  it("runs several completions at once", async () => {
    const model = await clientFor(server).llm.model();
    const prompts = ["My name is", "The town", "I bake", "Every day", "My name is"];
    const single = await model.complete(prompts[0]!, { maxTokens: 10, temperature: 0 });
    const started = Date.now();
    const results = await Promise.all(prompts.map((p) => model.complete(p, { maxTokens: 10, temperature: 0 })));
    expect(Date.now() - started).toBeLessThan(15_000);
    for (const r of results) expect(r.stats.predictedTokensCount).toBeGreaterThan(0);
    expect(results[0]!.content).toBe(single.content);
    expect(results[4]!.content).toBe(single.content);
    const prompted = server.received.slice(-prompts.length).map((r) => r.prompt);
    expect(prompted.sort()).toEqual([...prompts].sort());
  }, 30_000);

  it("also speaks the 2.x completeRawText channel", async () => {
    const ws = new WebSocket(`${server.url}/llm`);
    const frames: Array<Record<string, unknown>> = [];
    const done = new Promise<void>((resolve, reject) => {
      ws.on("error", reject);
      ws.on("message", (data) => {
        const frame = JSON.parse(data.toString()) as Record<string, unknown>;
        frames.push(frame);
        if (frame.success === true) {
          ws.send(
            JSON.stringify({
              type: "rpcCall",
              endpoint: "getModelInfo",
              callId: 0,
              parameter: { specifier: { type: "query", query: {} }, throwIfNotFound: true },
            }),
          );
        }
        if (frame.type === "rpcResult") {
          const info = frame.result as { instanceReference: string };
          ws.send(
            JSON.stringify({
              type: "channelCreate",
              endpoint: "completeRawText",
              channelId: 1,
              creationParameter: {
                modelSpecifier: { type: "instanceReference", instanceReference: info.instanceReference },
                rawPrompt: PROMPT,
                predictionConfigStack: {
                  layers: [
                    { layerName: "apiOverride", config: { fields: [{ key: "llm.prediction.maxPredictedTokens", value: { checked: true, value: 4 } }] } },
                  ],
                },
              },
            }),
          );
        }
        if (frame.type === "channelClose" || frame.type === "channelError") resolve();
      });
    });
    await once(ws, "open");
    ws.send(JSON.stringify({ authVersion: 1, clientIdentifier: "raw", clientPasskey: "raw" }));
    await done;
    ws.close();
    const messages = frames.filter((f) => f.type === "channelSend").map((f) => f.message as Record<string, unknown>);
    const types = messages.map((m) => m.type);
    expect(types[0]).toBe("promptProcessingProgress");
    expect(messages[0]).toMatchObject({ progress: 0, details: { cachedTokenCount: 0, processedPromptTokenCount: 0 } });
    expect(types.at(-1)).toBe("success");
    expect(types.filter((t) => t === "fragment").length).toBeGreaterThan(0);
    expect(frames.at(-1)).toEqual({ type: "channelClose", channelId: 1 });
    expect(lastPrediction(server)).toMatchObject({ channel: "completeRawText", prompt: PROMPT });
  }, 20_000);
});

describe("faults", () => {
  it("refuse: connections are dropped; a closed server refuses too", async () => {
    const s = await withServer({ fault: { type: "refuse" } });
    await expect(clientFor(s).llm.model()).rejects.toThrow();
    await expect(fetch(`${s.httpUrl}/lmstudio-greeting`)).rejects.toThrow();

    const stopped = await withServer();
    const url = stopped.url;
    await stopped.close();
    const client = new LMStudioClient({ baseUrl: url, logger: silentLogger });
    clients.push(client);
    await expect(client.llm.model()).rejects.toThrow();
  }, 20_000);

  it("refuse at runtime drops the open connections", async () => {
    const s = await withServer({ fault: { type: "slow", delayMs: 50 } });
    const model = await clientFor(s).llm.model();
    const prediction = model.complete(PROMPT, { maxTokens: 100 });
    await new Promise((r) => setTimeout(r, 150));
    s.setFault({ type: "refuse" });
    await expect(prediction).rejects.toThrow();
  }, 20_000);

  it("dieMidStream: the completion rejects after partial fragments", async () => {
    const s = await withServer({ fault: { type: "dieMidStream", afterFragments: 2 } });
    const model = await clientFor(s).llm.model();
    const fragments: string[] = [];
    const prediction = model.complete(PROMPT, {
      maxTokens: 30,
      temperature: 0,
      onPredictionFragment: (f) => fragments.push(f.content),
    });
    await expect(prediction).rejects.toThrow();
    expect(fragments).toHaveLength(2);
  }, 20_000);

  it("hang: calls never settle", async () => {
    const s = await withServer({ fault: { type: "hang" } });
    const client = clientFor(s);
    const pending = client.llm.model();
    pending.catch(() => undefined);
    expect(await settledWithin(pending, 1_000)).toBe("pending");
    await s.close();
    await expect(pending).rejects.toThrow();
  }, 20_000);

  it("predictionError: the completion rejects with the title", async () => {
    const s = await withServer();
    const model = await clientFor(s).llm.model();
    s.setFault({ type: "predictionError", title: "Boom: the engine fell over", cause: "because", suggestion: "try again" });
    const error = await model.complete(PROMPT).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    const message = stripAnsi((error as Error).message);
    expect(message).toContain("Boom: the engine fell over");
    expect(message).toContain("because");
    s.setFault({ type: "predictionError" });
    await expect(model.complete(PROMPT)).rejects.toThrow(/The model has crashed/);
    s.setFault({ type: "none" });
    expect((await model.complete(PROMPT, { maxTokens: 2 })).content.length).toBeGreaterThan(0);
  }, 20_000);

  it("slow: fragments are spaced out", async () => {
    const s = await withServer({ fault: { type: "slow", delayMs: 120 } });
    const model = await clientFor(s).llm.model();
    const times: number[] = [];
    const result = await model.complete(PROMPT, {
      maxTokens: 4,
      temperature: 0,
      onPredictionFragment: () => times.push(Date.now()),
    });
    expect(times.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(100);
    expect(result.stats.predictedTokensCount).toBe(times.length);
  }, 20_000);

  it("flood: N fragments without the model, then a cancel stops the next flood", async () => {
    const s = await withServer({ fault: { type: "flood", fragments: 3000, text: "ab " } });
    const model = await clientFor(s).llm.model();
    let fragments = 0;
    const result = await model.complete(PROMPT, { onPredictionFragment: () => fragments++ });
    expect(fragments).toBe(3000);
    expect(result.content).toBe("ab ".repeat(3000));
    expect(result.stats).toMatchObject({ stopReason: "maxPredictedTokensReached", predictedTokensCount: 3000 });

    s.setFault({ type: "flood", fragments: 1_000_000 });
    const prediction = model.complete(PROMPT);
    let seen = 0;
    for await (const fragment of prediction) {
      expect(fragment).toMatchObject({ content: "word ", tokensCount: 1 });
      if (++seen === 10) await prediction.cancel();
    }
    const cancelled = await prediction.result();
    expect(cancelled.stats.stopReason).toBe("userStopped");
    expect(cancelled.stats.predictedTokensCount).toBeLessThan(1_000_000);
    expect(lastPrediction(s).cancelled).toBe(true);
  }, 20_000);
});

describe("main.ts", () => {
  it("prints the address, serves, and stops cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "test/server/main.ts", "--quiet", "--port", "0"], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += String(d)));
    const exited = once(child, "exit");
    try {
      const lines = createInterface({ input: child.stdout });
      const [line] = (await once(lines, "line")) as [string];
      expect(line).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
      const client = new LMStudioClient({ baseUrl: line, logger: silentLogger });
      clients.push(client);
      const model = await client.llm.model();
      expect((await model.complete(PROMPT, { maxTokens: 2 })).content.length).toBeGreaterThan(0);
    } finally {
      child.kill("SIGTERM");
    }
    const [code] = await exited;
    expect(stderr).toBe("");
    expect(code).toBe(0);
  }, 30_000);

  it("fails on a taken port before loading any model, so its fallback to a free port loads it once", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const port = String((taken.address() as AddressInfo).port);
      const child = spawn(process.execPath, ["--import", "tsx", "test/server/main.ts", "--port", port], {
        cwd: REPO_ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += String(d)));
      const [code] = await once(child, "exit");
      expect(code).toBe(1);
      expect(stderr).toContain("EADDRINUSE");
      expect(stderr).not.toMatch(/\bloaded\b/);
    } finally {
      taken.close();
    }
  }, 30_000);
});
