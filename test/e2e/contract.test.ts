// The filter's contract: what reaches stdout, stderr and the server.

import { LMStudioClient } from "@lmstudio/sdk";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { runLmc, spawnLmc, statsOf } from "./lmc-process.js";
import { tempDir } from "../temp-dir.js";

let server: TestServer;
let sdkContent: string;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
  // What the SDK itself returns for the request lmc makes below.
  const silent = { info() {}, warn() {}, error() {}, debug() {} };
  const client = new LMStudioClient({ baseUrl: server.url, logger: silent });
  const model = await client.llm.model("lmc-tiny");
  sdkContent = (await model.complete("My name is", { maxTokens: 40, temperature: 0 })).content;
  await client[Symbol.asyncDispose]();
});
afterEach(() => {
  server.setFault({ type: "none" });
  expect(server.warnings).toEqual([]);
});
afterAll(() => server?.close());

const greedy = () => ["--host", server.url, "-m", "lmc-tiny", "-n", "40", "-t", "0"];
const lastRequest = () => server.received.filter((r) => r.channel !== "getOrLoad").at(-1)!;

describe("stdout", () => {
  it("holds exactly the completion, byte for byte as the SDK returns it", async () => {
    const result = await runLmc([...greedy(), "My name is"]);
    expect(result.code).toBe(0);
    expect(sdkContent.length).toBeGreaterThan(20);
    expect(result.text).toBe(sdkContent);
  });

  it("is the same with --no-stream", async () => {
    const result = await runLmc([...greedy(), "--no-stream", "My name is"]);
    expect(result.code).toBe(0);
    expect(result.text).toBe(sdkContent);
  });

  it("is the same every time", async () => {
    const runs = await Promise.all([1, 2, 3].map(() => runLmc([...greedy(), "My name is"])));
    for (const run of runs) expect(run.text).toBe(sdkContent);
  });

  // Ordering, not timing: what the first read sees tells streaming from buffering,
  // however slow the machine is. The server sends a fragment every 150 ms.
  it("streams: the first read holds only the first words, and the rest follows", async () => {
    server.setFault({ type: "slow", delayMs: 150 });
    let firstRead: string | undefined;
    const result = await runLmc([...greedy(), "-n", "8", "My name is"], {
      onSpawn: (child) => child.stdout!.once("data", (chunk: Buffer) => (firstRead = chunk.toString("utf8"))),
    });
    expect(result.code).toBe(0);
    expect(firstRead).toBeTruthy();
    expect(result.text.startsWith(firstRead!)).toBe(true);
    expect(firstRead!.length).toBeLessThan(result.text.length);
  });

  it("waits for the whole completion with --no-stream: the first read holds all of it", async () => {
    server.setFault({ type: "slow", delayMs: 100 });
    let firstRead: string | undefined;
    const result = await runLmc([...greedy(), "-n", "6", "--no-stream", "My name is"], {
      onSpawn: (child) => child.stdout!.once("data", (chunk: Buffer) => (firstRead = chunk.toString("utf8"))),
    });
    expect(result.code).toBe(0);
    expect(result.text.length).toBeGreaterThan(0);
    expect(firstRead).toBe(result.text);
  });

  it("gives a late reader every byte", async () => {
    const child = spawnLmc([...greedy(), "-n", "400", "My name is"]);
    const exited = new Promise((resolve) => child.on("close", resolve));
    child.stdin!.end();
    const chunks: Buffer[] = [];
    child.stdout!.on("data", (chunk: Buffer) => chunks.push(chunk)).pause(); // nobody reads for a while
    await new Promise((resolve) => setTimeout(resolve, 1500));
    child.stdout!.resume();
    expect(await exited).toBe(0);
    const expected = (await runLmc([...greedy(), "-n", "400", "--no-stream", "My name is"])).text;
    expect(Buffer.concat(chunks).toString()).toBe(expected);
  });
});

describe("the stats line", () => {
  it("is one JSON line with the documented fields", async () => {
    const result = await runLmc([...greedy(), "My name is"]);
    const stats = statsOf(result);
    expect(stats.model).toEqual({ key: "lmc-tiny", displayName: expect.any(String), identifier: "lmc-tiny" });
    expect(stats.stopReason).toBe("maxPredictedTokensReached");
    expect(stats.predictedTokensCount).toBe(40);
    expect(stats.promptTokensCount).toBeGreaterThan(0);
    expect(stats.totalTokensCount).toBe(stats.promptTokensCount + 40);
    for (const field of ["timeToFirstTokenSec", "tokensPerSecond", "totalTimeSec"]) {
      expect(stats[field]).toBeTypeOf("number");
    }
    expect(stats).not.toHaveProperty("stopString");
  });

  it("names the stop string that ended the completion", async () => {
    const stats = statsOf(await runLmc([...greedy(), "--stop", ".", "My name is"]));
    expect(stats).toMatchObject({ stopReason: "stopStringFound", stopString: "." });
  });

  it("is left out with --no-stats, and stderr stays empty", async () => {
    const result = await runLmc([...greedy(), "--no-stats", "My name is"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.text).toBe(sdkContent);
  });
});

describe("options reach LM Studio", () => {
  it("--max-tokens, --stop (in order), --temperature and --model", async () => {
    const result = await runLmc(["--host", server.url, "-m", "lmc-tiny", "-n", "7", "-s", "zz", "--stop", "yy", "-t", "0.25", "hi"]);
    expect(result.code).toBe(0);
    const request = lastRequest();
    expect(request.modelKey).toBe("lmc-tiny");
    expect(request.config["llm.prediction.maxPredictedTokens"]).toEqual({ checked: true, value: 7 });
    expect(request.config["llm.prediction.stopStrings"]).toEqual(["zz", "yy"]);
    expect(request.config["llm.prediction.temperature"]).toBe(0.25);
    expect(statsOf(result).predictedTokensCount).toBeLessThanOrEqual(7);
  });

  it("takes defaults from LMC_MODEL, LMC_HOST, LMC_MAX_TOKENS and LMC_TEMPERATURE", async () => {
    const env = { LMC_MODEL: "lmc-tiny", LMC_HOST: server.url, LMC_MAX_TOKENS: "5", LMC_TEMPERATURE: "0.5" };
    const result = await runLmc(["hi"], { env });
    expect(result.code).toBe(0);
    const request = lastRequest();
    expect(request.modelKey).toBe("lmc-tiny");
    expect(request.config["llm.prediction.maxPredictedTokens"]).toEqual({ checked: true, value: 5 });
    expect(request.config["llm.prediction.temperature"]).toBe(0.5);
  });

  it("lets flags win over the environment", async () => {
    const env = { LMC_MODEL: "no-such-model", LMC_HOST: "ws://127.0.0.1:9", LMC_MAX_TOKENS: "5", LMC_TEMPERATURE: "0.5" };
    const result = await runLmc(["-H", server.url, "-m", "lmc-tiny", "-n", "2", "-t", "0", "hi"], { env });
    expect(result.code).toBe(0);
    expect(lastRequest().config["llm.prediction.maxPredictedTokens"]).toEqual({ checked: true, value: 2 });
    expect(lastRequest().config["llm.prediction.temperature"]).toBe(0);
  });

  it("uses the loaded model when none is named", async () => {
    const result = await runLmc(["--host", server.url, "-n", "3", "hi"]);
    expect(result.code).toBe(0);
    expect(statsOf(result).model.key).toBe("lmc-tiny");
  });

  it("loads a downloaded model just in time", async () => {
    const result = await runLmc(["--host", server.url, "-m", "lmc-tiny-unloaded", "-n", "3", "hi"]);
    expect(result.code).toBe(0);
    expect(statsOf(result).model.key).toBe("lmc-tiny-unloaded");
    expect(result.text.length).toBeGreaterThan(0);
  });
});

describe("--output FILE", () => {
  it("writes the completion to FILE and nothing to stdout", async () => {
    const dir = tempDir("contract");
    const file = join(dir, "out.txt");
    const result = await runLmc([...greedy(), "-o", file, "My name is"]);
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBe(0);
    expect(await readFile(file, "utf8")).toBe(sdkContent);
    expect(statsOf(result).predictedTokensCount).toBe(40);
    expect(await readdir(dir)).toEqual(["out.txt"]);
  });

  it("leaves FILE as it was, and no temporary file, when the prediction fails", async () => {
    const dir = tempDir("contract");
    const file = join(dir, "out.txt");
    await writeFile(file, "previous contents\n");
    server.setFault({ type: "dieMidStream", afterFragments: 3 });
    const result = await runLmc([...greedy(), "-o", file, "My name is"]);
    expect(result.code).toBe(1);
    expect(result.stdout.length).toBe(0);
    expect(await readFile(file, "utf8")).toBe("previous contents\n");
    expect(await readdir(dir)).toEqual(["out.txt"]);
  });

  it("fails before asking LM Studio when FILE cannot be written", async () => {
    const before = server.received.length;
    const result = await runLmc([...greedy(), "-o", "/nonexistent-dir/out.txt", "hi"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^lmc: cannot write \/nonexistent-dir\/out.txt: /);
    expect(server.received.length).toBe(before);
  });
});

describe("help and version", () => {
  it("--help goes to stdout and exits 0", async () => {
    const result = await runLmc(["--help"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.text).toMatch(/^lmc \S+: complete text with LM Studio/);
    expect(result.text).toContain("lmc --help --all");
    expect(result.text).not.toContain("Exit status:");
  });

  it("--help --all shows every option and the exit statuses", async () => {
    const result = await runLmc(["--help", "--all"]);
    expect(result.code).toBe(0);
    expect(result.text).toContain("--top-k");
    expect(result.text).toContain("Exit status:");
    expect((await runLmc(["--all"])).stderr).toMatch(/^lmc: --all goes with --help/);
  });

  it("--version prints the package's version", async () => {
    const { version } = JSON.parse(await readFile("package.json", "utf8"));
    const result = await runLmc(["-V"]);
    expect(result.code).toBe(0);
    expect(result.text).toBe(`lmc ${version}\n`);
  });

  it("-- keeps --help a prompt word", async () => {
    const result = await runLmc(["--host", server.url, "-n", "2", "--", "--help"]);
    expect(result.code).toBe(0);
    expect(lastRequest().prompt).toBe("--help");
  });
});
