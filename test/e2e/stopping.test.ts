// How lmc stops: on SIGTERM and SIGHUP as on Ctrl-C, when the reader of stdout goes
// away, and when the only server dies mid-batch. Each cancels on the server what it
// no longer needs, and none leaves a file behind.

import { execFileSync, spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closedPort } from "../closed-port.js";
import { startTestServer, type ReceivedRequest, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { waitsOn } from "./fifo-wait.js";
import { cleanEnv, lmcBin, runLmc, type LmcResult } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterEach(() => server.setFault({ type: "none" }));
afterAll(() => server?.close());

const records = (result: LmcResult) =>
  result.text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
const lines = (text: string) => text.split("\n").filter(Boolean);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The predictions this test sent, once the server has seen the cancels (they may trail lmc's exit). */
async function predictionsSince(before: number): Promise<ReceivedRequest[]> {
  await sleep(300);
  return server.received.slice(before).filter((request) => request.channel !== "getOrLoad");
}

/** Resolves once the server has received a prediction after `before`. */
async function predictionStarted(before: number): Promise<void> {
  while (server.received.length <= before) await sleep(20);
}

/** JSON Lines for --each-jsonl: one prompt per entry, each with its own token limit. */
const jsonl = (maxTokens: number[]) => maxTokens.map((n) => JSON.stringify({ prompt: "My name is", maxTokens: n })).join("\n") + "\n";

describe("SIGTERM and SIGHUP stop lmc as Ctrl-C does", () => {
  it("SIGTERM cancels the prediction on the server and exits 143", async () => {
    server.setFault({ type: "slow", delayMs: 100 });
    const before = server.received.length;
    const result = await runLmc(["--host", server.url, "-t", "0", "-n", "200", "My name is"], {
      onSpawn: (child) => child.stdout!.once("data", () => child.kill("SIGTERM")),
    });
    expect(result.code).toBe(143);
    expect(lines(result.stderr)).toEqual(["lmc: terminated (SIGTERM)"]);
    expect((await predictionsSince(before)).map((request) => request.cancelled)).toEqual([true]);
  });

  it("SIGHUP with -o cancels, leaves no file (temporary or partial) behind, and exits 129", async () => {
    server.setFault({ type: "slow", delayMs: 100 });
    const dir = tempDir("sighup");
    const before = server.received.length;
    const result = await runLmc(["--host", server.url, "-t", "0", "-n", "200", "-o", join(dir, "out.txt"), "My name is"], {
      onSpawn: (child) =>
        void predictionStarted(before)
          .then(() => sleep(300))
          .then(() => child.kill("SIGHUP")),
    });
    expect(result.code).toBe(129);
    expect(lines(result.stderr)).toEqual(["lmc: hung up (SIGHUP)"]);
    expect(readdirSync(dir)).toEqual([]);
    expect((await predictionsSince(before)).map((request) => request.cancelled)).toEqual([true]);
  });

  it("in batch mode SIGTERM cancels every prediction in flight and keeps whole records", async () => {
    server.setFault({ type: "slow", delayMs: 100 });
    const before = server.received.length;
    // Item 0 is done at once; items 1 to 3 take 10 s each, so they are in flight when the signal comes.
    const result = await runLmc(["--host", server.url, "-t", "0", "--each-jsonl", "-P", "4"], {
      input: jsonl([1, 100, 100, 100]),
      onSpawn: (child) => child.stdout!.once("data", () => child.kill("SIGTERM")),
    });
    expect(result.code).toBe(143);
    expect(records(result).map((record) => record.index)).toEqual([0]);
    const cancelled = (await predictionsSince(before)).filter((request) => request.cancelled);
    expect(cancelled).toHaveLength(3);
  });
});

describe("a reader of stdout that goes away", () => {
  it("in batch mode, behind a real pipe (lmc --each-jsonl | head -c 5): every item in flight is cancelled at once, exit 141 quietly", async () => {
    server.setFault({ type: "slow", delayMs: 100 });
    const before = server.received.length;
    // Item 0's record satisfies head; item 1's (about 1 s later) meets the closed pipe;
    // items 2 and 3 would take 10 s more.
    const lmc = lmcBin.endsWith(".cjs") ? `"${process.execPath}" "${lmcBin}"` : `"${lmcBin}"`;
    const script = `${lmc} --host ${server.url} -t 0 --each-jsonl -P 4 | head -c 5 >/dev/null; exit \${PIPESTATUS[0]}`;
    const child = spawn("bash", ["-c", script], { env: cleanEnv(), stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.stdin.end(jsonl([1, 10, 100, 100]));
    const started = Date.now();
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    clearTimeout(killer);
    expect(code).toBe(141);
    expect(stderr).toBe("");
    expect(Date.now() - started).toBeLessThan(8000); // well under the 10 s items 2 and 3 would take
    const cancelled = (await predictionsSince(before)).filter((request) => request.cancelled);
    expect(cancelled).toHaveLength(2);
  });

  it("in batch mode, before any further record is due: lmc notices by itself and cancels", async () => {
    server.setFault({ type: "slow", delayMs: 100 });
    const before = server.received.length;
    const result = await runLmc(["--host", server.url, "-t", "0", "--each-jsonl", "-P", "3"], {
      input: jsonl([1, 100, 100]),
      onSpawn: (child) => child.stdout!.once("data", () => child.stdout!.destroy()),
    });
    expect(result.code).toBe(141);
    expect(result.stderr).toBe("");
    const cancelled = (await predictionsSince(before)).filter((request) => request.cancelled);
    expect(cancelled).toHaveLength(2);
  });

  it("--no-stream with stdout already closed stops without waiting for the whole completion", async () => {
    server.setFault({ type: "slow", delayMs: 100 });
    const before = server.received.length;
    const result = await runLmc(["--host", server.url, "-t", "0", "-n", "100", "--no-stream", "My name is"], {
      onSpawn: (child) => child.stdout!.destroy(),
    });
    expect(result.code).toBe(141);
    expect(result.stderr).toBe("");
    expect(result.elapsedMs).toBeLessThan(8000); // the completion alone takes 10 s
    // On a loaded machine lmc may see the closed stdout before it even asks: then there is nothing to cancel.
    expect((await predictionsSince(before)).filter((request) => !request.cancelled)).toEqual([]);
  });
});

describe("a reader of stdout that goes away, with -o /dev/stdout", () => {
  it("is noticed between fragments too, as with plain stdout", async () => {
    server.setFault({ type: "slow", delayMs: 8000 }); // the first fragment is 8 s away
    const result = await runLmc(["--host", server.url, "-n", "3", "-o", "/dev/stdout", "My name is"], {
      onSpawn: (child) => child.stdout!.destroy(),
    });
    expect(result.code).toBe(141);
    expect(result.stderr).toBe("");
    expect(result.elapsedMs).toBeLessThan(6000);
  });
});

describe("the only server goes away mid-batch", () => {
  it("ends the batch at once with exit 3, not with an error record for every item left", async () => {
    const dying = await startTestServer({ quiet: true, fault: { type: "slow", delayMs: 30 } });
    const input = Array.from({ length: 20 }, (_, i) => `My name is ${i}`).join("\n") + "\n";
    const result = await runLmc(["--host", dying.url, "-n", "10", "--each", "-P", "2"], {
      input,
      onSpawn: (child) => child.stdout!.once("data", () => void dying.close()),
    });
    expect(result.code).toBe(3);
    expect(lines(result.stderr)).toEqual([expect.stringMatching(new RegExp(`^lmc: cannot reach LM Studio at ${dying.url} \\(ECONNREFUSED\\)`))]);
    const out = records(result);
    // The server went away on the first record out: there is at least that one, and only the first few, in order.
    expect(out.length).toBeGreaterThan(0);
    expect(out.length).toBeLessThan(5);
    expect(out.map((record) => record.index)).toEqual(out.map((_, i) => i));
    for (const record of out) {
      if (record.error === undefined) expect(record.completion).toEqual(expect.any(String));
      else expect(record.error).toMatch(/was lost mid-stream/);
    }
  });
});

describe("one message for a lost connection", () => {
  it("when it breaks while lmc waits for the model, as when it breaks mid-stream", async () => {
    server.setFault({ type: "hang" });
    const result = await runLmc(["--host", server.url, "-v", "hi"], {
      // -v says when lmc has gone to the server; the hung server then drops every socket.
      onSpawn: (child) => child.stderr!.once("data", () => void sleep(700).then(() => server.setFault({ type: "refuse" }))),
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^lmc: the connection to LM Studio at ${server.url} was lost mid-stream$`, "m"));
    expect(result.stderr).not.toMatch(/^lmc: WebSocket connection closed/m);
  });
});

describe("no wait on the user's side of things holds lmc up", () => {
  it("batch mode with stdin open and quiet ends at once when its only host cannot be reached", async () => {
    const result = await runLmc(["--host", `127.0.0.1:${await closedPort()}`, "--each"], {
      stdin: "open",
      onSpawn: (child) => child.stdin!.write("My name is\n"),
    });
    expect(result.code).toBe(3);
    expect(result.elapsedMs).toBeLessThan(10_000); // killed at 20 s before: it waited for the next line
  });

  it("batch mode with stdin open and quiet stops at once on SIGTERM", async () => {
    const result = await runLmc(["--host", server.url, "-n", "2", "--each"], {
      stdin: "open",
      onSpawn: (child) => {
        child.stdin!.write("My name is\n");
        child.stdout!.once("data", () => child.kill("SIGTERM"));
      },
    });
    expect(result.code).toBe(143);
    expect(records(result)).toHaveLength(1);
  });

  it.each([
    ["-o FIFO, which no one reads, with --timeout", (fifo: string) => ["-o", fifo, "--timeout", "1", "hi"], 124, undefined],
    ["--schema FIFO, which no one writes, on SIGTERM", (fifo: string) => ["--schema", fifo, "hi"], 143, "SIGTERM"],
    ["--resume FIFO, which no one writes, on SIGTERM", (fifo: string) => ["--each", "--resume", fifo], 143, "SIGTERM"],
  ] as const)("%s", async (_, args, status, signal) => {
    const fifo = join(tempDir("fifo"), "fifo");
    execFileSync("mkfifo", [fifo]);
    const result = await runLmc(["--host", server.url, ...args(fifo)], {
      input: "My name is\n",
      onSpawn: (child) => void (signal && waitsOn(child.pid!, fifo).then(() => child.kill(signal))),
    });
    expect(result.code).toBe(status);
    expect(result.elapsedMs).toBeLessThan(10_000);
  });
});
