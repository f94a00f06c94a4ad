// Progress on stderr (only on a terminal, or when forced), and a reasoning model's reasoning.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { runLmc, statsOf } from "./lmc-process.js";

let server: TestServer;
let reasoner: TestServer;
beforeAll(async () => {
  [server, reasoner] = await Promise.all([startTestServer({ quiet: true }), startTestServer({ quiet: true, reasoning: true })]);
});
afterAll(() => Promise.all([server?.close(), reasoner?.close()]));

/** The stats line is the last line; what comes before it on stderr is progress. */
const splitStderr = (stderr: string) => {
  const lastNewline = stderr.lastIndexOf("\n", stderr.length - 2);
  return { before: stderr.slice(0, lastNewline + 1), statsLine: stderr.slice(lastNewline + 1) };
};

describe("progress", () => {
  it("is never shown in a pipe by default", async () => {
    const result = await runLmc(["--host", server.url, "-m", "lmc-tiny-unloaded", "-n", "3", "hi"]);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain("\r");
    statsOf(result);
  });

  it("--progress shows loading and prompt processing, then clears itself before the stats line", async () => {
    const fresh = await startTestServer({ quiet: true }); // lmc-tiny-unloaded is still unloaded there
    const result = await runLmc(["--host", fresh.url, "-m", "lmc-tiny-unloaded", "-n", "3", "--progress", "hi"]);
    await fresh.close();
    expect(result.code).toBe(0);
    expect(result.stdout.toString()).not.toContain("\r");
    expect(result.stderr).toContain("loading lmc-tiny-unloaded  [");
    expect(result.stderr).toContain("processing the prompt  [########################] 100%");
    expect(result.stderr).not.toContain("\x1b[36m"); // no colour outside a terminal
    const lines = result.stderr.split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\r\x1b\[K\{"model"/); // cleared, then the stats line
    expect(JSON.parse(lines[0]!.slice(lines[0]!.lastIndexOf("\x1b[K") + 3)).stopReason).toBeDefined();
  });

  it("goes on through generation with -o and --progress, and is cleared before the stats line", async () => {
    server.setFault({ type: "slow", delayMs: 80 });
    try {
      const dir = mkdtempSync(join(tmpdir(), "lmc-progress-"));
      const file = join(dir, "out.txt");
      const args = ["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "12", "My name is"];
      const piped = await runLmc(args);
      const result = await runLmc([...args, "-o", file, "--progress"]);
      const text = readFileSync(file, "utf8");
      rmSync(dir, { recursive: true });
      expect(result.code).toBe(0);
      expect(text).toBe(piped.text);
      expect(result.stderr).toMatch(/generating: \d+ tokens?, \d+\.\d tok\/s/);
      const { before, statsLine } = splitStderr(result.stderr);
      expect(before).toBe("");
      expect(statsLine).toMatch(/generating: [^\n]*\r\x1b\[K\{"model"/);
      expect(JSON.parse(statsLine.slice(statsLine.lastIndexOf("\x1b[K") + 3)).predictedTokensCount).toBe(12);
    } finally {
      server.setFault({ type: "none" });
    }
  });

  it("is never shown in a pipe by default, with -o or --no-stream either", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lmc-progress-"));
    for (const extra of [["-o", join(dir, "out.txt")], ["--no-stream"]]) {
      const result = await runLmc(["--host", server.url, "-m", "lmc-tiny", "-n", "5", ...extra, "hi"]);
      expect(result.code).toBe(0);
      expect(result.stderr).not.toMatch(/generating|\r/);
      statsOf(result);
    }
    rmSync(dir, { recursive: true });
  });

  it("--progress leaves it out while the completion streams to a pipe, whose reader may show it", async () => {
    const result = await runLmc(["--host", server.url, "-m", "lmc-tiny", "-n", "5", "--progress", "hi"]);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain("generating");
  });

  it("--no-progress and --progress together are a usage error", async () => {
    const result = await runLmc(["--progress", "--no-progress", "hi"]);
    expect(result.code).toBe(2);
  });
});

describe("a reasoning model", () => {
  const greedy = () => ["--host", reasoner.url, "-m", "lmc-tiny", "-t", "0", "-n", "30"];

  it("never writes its reasoning to stdout", async () => {
    const plain = await runLmc(["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "30", "My name is"]);
    const result = await runLmc([...greedy(), "My name is"]);
    expect(result.code).toBe(0);
    const reasoning = plain.text.slice(0, plain.text.indexOf(".") + 1);
    expect(reasoning.length).toBeGreaterThan(1);
    expect(result.text).toBe(plain.text.slice(reasoning.length));
    expect(result.text).not.toContain("<think>");
    statsOf(result); // stderr holds the stats line alone
  });

  it("shows the reasoning on stderr with --reasoning, on its own lines before the stats", async () => {
    const plain = await runLmc(["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "30", "My name is"]);
    const result = await runLmc([...greedy(), "--reasoning", "My name is"]);
    expect(result.code).toBe(0);
    const { before, statsLine } = splitStderr(result.stderr);
    expect(before).toBe(`<think>${plain.text.slice(0, plain.text.indexOf(".") + 1)}</think>\n`);
    expect(JSON.parse(statsLine).predictedTokensCount).toBe(30);
  });
});
