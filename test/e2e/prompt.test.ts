// How lmc builds the prompt, as seen by the server.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { runLmc, statsOf } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterAll(() => server?.close());

const lastPrompt = () => server.received.at(-1)?.prompt;
const lmc = (args: string[], input?: string | Buffer, stdin?: "open") => runLmc(["--host", server.url, "--max-tokens", "3", ...args], { input, stdin });

describe("the prompt", () => {
  it.each<[string, string[], string | undefined, string]>([
    ["is the words joined by single spaces", ["My", "name", "is"], undefined, "My name is"],
    ["keeps spaces inside a word", ["My  name", "is"], undefined, "My  name is"],
    ["is stdin when there are no words", [], "My name is\n", "My name is"],
    ["drops one CRLF from stdin", [], "My name is\r\n", "My name is"],
    ["puts stdin where - stands", ["-", "TL;DR:"], "The article.\n", "The article. TL;DR:"],
    ["puts stdin after the words", ["Rewrite", "as", "Markdown:", "-"], "notes\n", "Rewrite as Markdown: notes"],
    ["takes words after --", ["--", "-5", "degrees"], undefined, "-5 degrees"],
    ["keeps stdin byte-exact with --raw-stdin", ["--raw-stdin"], "\ufeffMy name is\n", "\ufeffMy name is\n"],
    ["drops a byte-order mark", [], "\ufeffMy name is", "My name is"],
  ])("%s", async (_, args, input, expected) => {
    const result = await lmc(args, input);
    expect(result.stderr).not.toMatch(/^lmc:/m);
    expect(result.code).toBe(0);
    expect(lastPrompt()).toBe(expected);
  });

  it("does not read stdin when words are given without -", async () => {
    // stdin stays open and silent: reading it would hang until the kill.
    const result = await lmc(["My", "name", "is"], undefined, "open");
    expect(result.code).toBe(0);
    expect(lastPrompt()).toBe("My name is");
  });

  it("does not even create process.stdin when it does not read it", async () => {
    // A preload that reports the first access to process.stdin: creating it costs
    // start-up time, and a library that reads it at load time would do so on every run.
    const dir = tempDir("stdin-trap");
    const trap = join(dir, "trap.cjs");
    writeFileSync(
      trap,
      `const own = Object.getOwnPropertyDescriptor(process, "stdin");
      Object.defineProperty(process, "stdin", { configurable: true, get() { process.stderr.write("stdin touched\\n"); return own.get.call(process); } });`,
    );
    const env = { NODE_OPTIONS: `--require ${trap}` };
    for (const args of [["--version"], ["--help"], ["--host", server.url, "-n", "1", "--no-stats", "My"]]) {
      const result = await runLmc(args, { input: "unread\n", env });
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
    }
    const reading = await runLmc(["--host", server.url, "-n", "1", "--no-stats"], { input: "My name is\n", env });
    expect(reading.stderr).toBe("stdin touched\n");
  });

  it("turns invalid UTF-8 into U+FFFD instead of failing", async () => {
    const result = await lmc([], Buffer.from([0x4d, 0x79, 0xff, 0xfe, 0x20, 0x6e, 0x61, 0x6d, 0x65]));
    expect(result.code).toBe(0);
    expect(lastPrompt()).toBe("My\ufffd\ufffd name");
  });

  it("refuses a 10 MB prompt that cannot fit before sending it, with both numbers", async () => {
    const big = "word ".repeat(2 * 1024 * 1024);
    const before = server.received.length;
    const result = await lmc([], big);
    expect(result.code).toBe(1);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr).toMatch(/^lmc: the prompt is \d+ tokens, more than the model's context length 2048: /);
    expect(server.received.slice(before).filter((request) => request.channel !== "getOrLoad")).toEqual([]);
  });

  it("sends a 10 MB prompt whole that LM Studio may cut, and reports the server's refusal clearly", async () => {
    const big = "word ".repeat(2 * 1024 * 1024);
    const result = await lmc(["--context-overflow", "rolling-window"], big);
    expect(lastPrompt()?.length).toBe(big.length);
    // The tiny model's context is 2,048 tokens: LM Studio refuses such a prompt too.
    expect(result.code).toBe(1);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr).toMatch(/^lmc: the prediction failed: .*context/m);
    expect(result.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  });

  it.each<[string, string[], string | undefined]>([
    ["no words and empty stdin", [], ""],
    ["no words and only a newline on stdin", [], "\n"],
    ["an empty word", [""], undefined],
    ["- with empty stdin", ["-"], ""],
  ])("refuses an empty prompt: %s", async (_, args, input) => {
    const before = server.received.length;
    const result = await lmc(args, input);
    expect(result.code).toBe(2);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr).toMatch(/^lmc: the prompt is empty/);
    expect(server.received.length).toBe(before);
  });

  it("leaves the server without complaints", () => {
    expect(server.warnings).toEqual([]);
  });
});

describe("a completion", () => {
  it("reports its times to the microsecond and its rate to two decimals, in a single run and a batch", async () => {
    const decimals = (value: number) => (String(value).split(".")[1] ?? "").length;
    const single = statsOf(await runLmc(["--host", server.url, "-n", "5", "My name is"]));
    const batch = await runLmc(["--host", server.url, "-n", "5", "--each"], { input: "My name is\nOnce\n" });
    const summary = JSON.parse(batch.stderr);
    const record = JSON.parse(batch.text.split("\n")[0]!).stats;
    for (const stats of [single, record]) {
      expect(decimals(stats.timeToFirstTokenSec)).toBeLessThanOrEqual(6);
      expect(decimals(stats.totalTimeSec)).toBeLessThanOrEqual(6);
      expect(decimals(stats.tokensPerSecond)).toBeLessThanOrEqual(2);
    }
    expect(decimals(summary.wallTimeSec)).toBeLessThanOrEqual(6);
    expect(decimals(summary.tokensPerSecond)).toBeLessThanOrEqual(2);
  });

  it("reaches stdout exactly, with the stats on stderr", async () => {
    const result = await runLmc(["--host", server.url, "--temperature", "0", "--max-tokens", "40", "--stop", "."], { input: "My name is\n" });
    expect(result.code).toBe(0);
    const stats = statsOf(result);
    expect(stats.stopReason).toBe("stopStringFound");
    expect(stats.stopString).toBe(".");
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.text).not.toContain(".");
  });
});
