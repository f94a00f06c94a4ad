// What a server that was reached says is checked, not trusted: a prediction is a
// success only with its result, a broken protocol is a failure mid-stream (not "cannot
// reach"), a server that falls silent ends a single run as it ends a batch, and the
// stats are sane numbers or null. The test server's hostile modes play the server.

import { createServer, type Server, type Socket } from "node:net";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type Fault, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { expectOneErrorLine } from "./error-line.js";
import { runLmc, statsOf } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterEach(() => server.setFault({ type: "none" }));
afterAll(() => server?.close());

const records = (text: string) =>
  text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));

/** Answers that must fail the prediction at once, and what lmc says of each. */
const noGoodResult: Array<[string, Fault, RegExp]> = [
  ["a channel closed without a result", { type: "noResult" }, /LM Studio at \S+ ended the prediction without its result$/],
  [
    "a stopReason the SDK does not know",
    { type: "resultStats", stats: { stopReason: "newReason" } },
    /LM Studio at \S+ sent a result that lmc cannot read \(stats\.stopReason: Invalid enum value, received 'newReason'\)$/,
  ],
  ['"NaN" in the stats', { type: "resultStats", stats: { tokensPerSecond: "NaN" } }, /sent a result that lmc cannot read \(stats\.tokensPerSecond: /],
];

describe("a prediction is a success only with its result", () => {
  it.each(noGoodResult)("%s: exit 1 with one line, and no stats line", async (_, fault, message) => {
    server.setFault(fault);
    const result = await runLmc(["--host", server.url, "-n", "6", "My name is"]);
    expect(result.code).toBe(1);
    expectOneErrorLine(result, message);
  });

  it.each(noGoodResult)("%s: -o leaves the old file as it was", async (_, fault, message) => {
    const out = join(tempDir("answers"), "target.txt");
    await writeFile(out, "the old target\n");
    server.setFault(fault);
    const result = await runLmc(["--host", server.url, "-n", "6", "-o", out, "My name is"]);
    expect(result.code).toBe(1);
    expectOneErrorLine(result, message);
    expect(await readFile(out, "utf8")).toBe("the old target\n");
  });

  it.each(noGoodResult)("%s: --no-stream writes nothing", async (_, fault, message) => {
    server.setFault(fault);
    const result = await runLmc(["--host", server.url, "-n", "6", "--no-stream", "My name is"]);
    expect(result.code).toBe(1);
    expect(result.stdout.length).toBe(0);
    expectOneErrorLine(result, message);
  });

  // With the default --idle-timeout of 60 s: waiting for it would outlast runLmc's 20 s.
  it.each(noGoodResult)("%s: in batch mode, an error record for each item at once", async (_, fault, message) => {
    server.setFault(fault);
    const result = await runLmc(["--host", server.url, "-n", "4", "--each"], { input: "My name is\nOnce\n" });
    expect(result.code, result.stderr).toBe(1);
    const out = records(result.text);
    expect(out.map((record) => [record.index, record.status])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    for (const record of out) expect(record.error).toMatch(message);
    expect(statsOf(result)).toMatchObject({ items: 2, failures: 2 });
  });
});

describe("a protocol error once connected is a failure mid-stream (exit 1), not 'cannot reach' (exit 3)", () => {
  it.each<[string, Extract<Fault, { type: "badFrame" }>["kind"], RegExp]>([
    ["a frame that is not UTF-8", "utf8", /LM Studio at \S+ sent a frame that is not valid UTF-8$/],
    ["a message that is not JSON", "json", /LM Studio at \S+ sent a message that is not JSON$/],
    [
      "a message of the wrong shape",
      "message",
      /LM Studio at \S+ sent a fragment that lmc cannot read \(fragment\.content: Expected string, received number\)$/,
    ],
  ])("%s", async (_, kind, message) => {
    server.setFault({ type: "badFrame", afterFragments: 2, kind });
    const result = await runLmc(["--host", server.url, "-n", "6", "My name is"]);
    expect(result.code).toBe(1);
    expectOneErrorLine(result, message);
  });

  it("in batch mode: the items' records say so, and the batch goes on", async () => {
    server.setFault({ type: "badFrame", afterFragments: 1, kind: "json" });
    const result = await runLmc(["--host", server.url, "-n", "4", "-P", "1", "--each"], { input: "My name is\nOnce\n" });
    expect(result.code).toBe(1);
    const out = records(result.text);
    expect(out.map((record) => [record.index, record.status])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    expect(out[0].error).toMatch(/sent a message that is not JSON$/);
  });
});

describe("--idle-timeout bounds a single run: LM Studio silent that long ends it (exit 3), saying what was awaited", () => {
  it.each<[string, Fault, string[], string]>([
    ["the model", { type: "hang" }, [], "the model"],
    ["the first token", { type: "stall", afterFragments: 0 }, [], "the first token"],
    ["the next token", { type: "stall", afterFragments: 2 }, [], "the next token"],
  ])("waiting for %s", async (_, fault, args, awaited) => {
    server.setFault(fault);
    const result = await runLmc(["--host", server.url, "--idle-timeout", "1", "-n", "8", ...args, "My name is"]);
    expect(result.code).toBe(3);
    expectOneErrorLine(result, new RegExp(`^lmc: LM Studio at ${server.url} did not answer for 1 s \\(--idle-timeout\\): lmc waited for ${awaited}$`));
  });

  it("LMC_IDLE_TIMEOUT too, with -o left alone", async () => {
    const out = join(tempDir("answers"), "target.txt");
    await writeFile(out, "the old target\n");
    server.setFault({ type: "stall", afterFragments: 2 });
    const result = await runLmc(["--host", server.url, "-n", "8", "-o", out, "My name is"], { env: { LMC_IDLE_TIMEOUT: "1" } });
    expect(result.code).toBe(3);
    expectOneErrorLine(result, /did not answer for 1 s \(--idle-timeout\): lmc waited for the next token$/);
    expect(await readFile(out, "utf8")).toBe("the old target\n");
  });

  it("waiting for the connection: a listener that accepts and never answers", async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    try {
      const result = await runLmc(["--host", `ws://127.0.0.1:${port}`, "--idle-timeout", "1", "hi"]);
      expect(result.code).toBe(3);
      expectOneErrorLine(result, /did not answer for 1 s \(--idle-timeout\): lmc waited for the connection$/);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it("--list too: waiting for the list of models", async () => {
    server.setFault({ type: "hang" });
    const result = await runLmc(["--host", server.url, "--idle-timeout", "1", "--list"]);
    expect(result.code).toBe(3);
    expectOneErrorLine(result, /did not answer for 1 s \(--idle-timeout\): lmc waited for the list of models$/);
  });

  it("a slow but steady server is not a silent one: each fragment is a sign of life", async () => {
    server.setFault({ type: "slow", delayMs: 400 });
    const result = await runLmc(["--host", server.url, "--idle-timeout", "1", "-n", "6", "-t", "0", "My name is"]);
    expect(result.code, result.stderr).toBe(0);
    expect(statsOf(result).predictedTokensCount).toBe(6);
  });
});

describe("stats are checked before they are written", () => {
  const insane = { predictedTokensCount: -5, promptTokensCount: 1e300, totalTokensCount: 7, tokensPerSecond: -1 };

  it("counts that are not whole numbers >= 0, rates below 0 and a total that is not the sum are null", async () => {
    server.setFault({ type: "resultStats", stats: insane });
    const result = await runLmc(["--host", server.url, "-n", "4", "My name is"]);
    expect(result.code).toBe(0);
    expect(statsOf(result)).toMatchObject({ predictedTokensCount: null, promptTokensCount: null, totalTokensCount: null, tokensPerSecond: null });
  });

  it("in batch records too, and the summary adds up only what is sane", async () => {
    server.setFault({ type: "resultStats", stats: insane });
    const result = await runLmc(["--host", server.url, "-n", "4", "--each"], { input: "My name is\n" });
    expect(result.code).toBe(0);
    expect(records(result.text)[0].stats).toMatchObject({ predictedTokensCount: null, promptTokensCount: null, totalTokensCount: null });
    expect(statsOf(result)).toMatchObject({ promptTokensCount: 0, predictedTokensCount: 0 });
  });
});
