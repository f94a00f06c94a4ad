// --stats-file, LMC_STATS_FILE and LMC_NO_STATS end to end: the stats line appended to
// a file instead of stderr, so that stderr holds only errors and a Makefile can collect
// one line per run.

import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { closedPort } from "../closed-port.js";
import { startTestServer, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { expectOneErrorLine } from "./error-line.js";
import { runLmc } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterEach(() => server.setFault({ type: "none" }));
afterAll(() => server?.close());

const greedy = () => ["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "4"];
const lines = (file: string) => readFileSync(file, "utf8").split("\n").filter(Boolean);
const parsed = (file: string) => lines(file).map((line) => JSON.parse(line) as Record<string, unknown>);

describe("--stats-file FILE", () => {
  it("appends the stats line to FILE, one line per run, and leaves stderr empty", async () => {
    const file = join(tempDir("stats"), "stats.jsonl");
    for (const prompt of ["My name is", "The sea is"]) {
      const result = await runLmc([...greedy(), "--stats-file", file, prompt]);
      expect(result.code).toBe(0);
      expect(result.stderr).toBe("");
      expect(result.text.length).toBeGreaterThan(0);
    }
    expect(parsed(file)).toMatchObject([
      { model: { key: "lmc-tiny" }, predictedTokensCount: 4 },
      { model: { key: "lmc-tiny" }, predictedTokensCount: 4 },
    ]);
    // A new file gets 0666 less the umask, as a shell's >> makes it.
    const umask = process.umask();
    expect(statSync(file).mode & 0o777).toBe(0o666 & ~umask);
  });

  it("a run cut off by --fail-on-truncate (exit 5) appends its stats, and stderr holds only the lmc: line", async () => {
    const file = join(tempDir("stats"), "stats.jsonl");
    const result = await runLmc([...greedy(), "-n", "2", "--fail-on-truncate", "--stats-file", file, "My name is"]);
    expect(result.code).toBe(5);
    expectOneErrorLine(result, /cut off/);
    expect(parsed(file)).toMatchObject([{ stopReason: "maxPredictedTokensReached", predictedTokensCount: 2 }]);
  });

  it("batch mode's summary line goes there too; the records stay on stdout", async () => {
    const file = join(tempDir("stats"), "stats.jsonl");
    const result = await runLmc([...greedy(), "--each", "--stats-file", file], { input: "My name is\nThe sea is\n" });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.text.trim().split("\n")).toHaveLength(2);
    expect(parsed(file)).toMatchObject([{ items: 2, failures: 0, skipped: 0 }]);
  });

  it("is checked before LM Studio is asked: a FILE that cannot be written is exit 1, and nothing is sent", async () => {
    const dir = tempDir("stats");
    const port = await closedPort();
    // No LM Studio to be found would be exit 3: exit 1 says the file was checked first.
    for (const file of [join(dir, "missing", "stats.jsonl"), dir, join(dir, "file", "stats.jsonl")]) {
      writeFileSync(join(dir, "file"), "");
      const result = await runLmc(["--stats-file", file, "My name is"], { env: { LMC_LOCAL_PORTS: String(port) } });
      expect(result.code).toBe(1);
      expectOneErrorLine(result, new RegExp(`cannot write ${file.replace(/[/.]/g, "\\$&")}: (no such file or directory|is a directory|not a directory)`));
    }
    const readOnly = join(dir, "read-only.jsonl");
    writeFileSync(readOnly, "");
    chmodSync(readOnly, 0o444);
    const before = server.received.length;
    const result = await runLmc([...greedy(), "--stats-file", readOnly, "My name is"]);
    if (process.getuid?.() !== 0) {
      expect(result.code).toBe(1);
      expectOneErrorLine(result, /cannot write .*read-only\.jsonl: permission denied/);
      expect(result.stdout.length).toBe(0);
      expect(server.received.length).toBe(before);
    }
  });

  it("a symlink is followed to the file it names (made if missing), as for -o", async () => {
    const dir = tempDir("stats");
    symlinkSync("target.jsonl", join(dir, "link"));
    const result = await runLmc([...greedy(), "--stats-file", join(dir, "link"), "My name is"]);
    expect(result.code).toBe(0);
    expect(parsed(join(dir, "target.jsonl"))).toHaveLength(1);
  });

  it("a FIFO no one reads does not hang: --timeout ends the wait (exit 124)", async () => {
    const fifo = join(tempDir("stats"), "fifo");
    execFileSync("mkfifo", [fifo]);
    const result = await runLmc([...greedy(), "--timeout", "1", "--stats-file", fifo, "My name is"], { killAfterMs: 15_000 });
    expect(result.code).toBe(124);
    expectOneErrorLine(result, /./);
  });

  it("a FIFO with a reader gets the line", async () => {
    const fifo = join(tempDir("stats"), "fifo");
    execFileSync("mkfifo", [fifo]);
    const reader = spawn("cat", [fifo]);
    onTestFinished(() => void reader.kill());
    let read = "";
    reader.stdout.setEncoding("utf8").on("data", (chunk: string) => (read += chunk));
    const closed = new Promise((resolve) => reader.on("close", resolve));
    const result = await runLmc([...greedy(), "--stats-file", fifo, "My name is"]);
    expect(result.code).toBe(0);
    await closed;
    expect(JSON.parse(read)).toMatchObject({ model: { key: "lmc-tiny" } });
  });

  it("SIGTERM mid-completion (exit 143): no stats to append, and FILE is left as it was", async () => {
    const file = join(tempDir("stats"), "stats.jsonl");
    writeFileSync(file, '{"earlier":1}\n');
    server.setFault({ type: "slow", delayMs: 200 });
    const result = await runLmc([...greedy(), "--stats-file", file, "My name is"], {
      onSpawn: (child) => child.stdout!.once("data", () => child.kill("SIGTERM")),
    });
    expect(result.code).toBe(143);
    expectOneErrorLine(result, /terminated/);
    expect(readFileSync(file, "utf8")).toBe('{"earlier":1}\n');
  });

  it("lmc processes appending at once each add one whole line", async () => {
    const file = join(tempDir("stats"), "stats.jsonl");
    const runs = await Promise.all(["My name is", "The sea is", "I like", "A cat"].map((prompt) => runLmc([...greedy(), "--stats-file", file, prompt])));
    expect(runs.map((run) => run.code)).toEqual([0, 0, 0, 0]);
    expect(parsed(file)).toHaveLength(4);
  });

  it("with --no-stats is a usage error (exit 2): they contradict each other", async () => {
    const result = await runLmc([...greedy(), "--stats-file", "stats.jsonl", "--no-stats", "My name is"]);
    expect(result.code).toBe(2);
    expectOneErrorLine(result, /--stats-file and --no-stats contradict each other/);
  });
});

describe("the environment", () => {
  it("LMC_STATS_FILE is --stats-file's default; the flag wins", async () => {
    const dir = tempDir("stats");
    const fromEnv = await runLmc([...greedy(), "My name is"], { env: { LMC_STATS_FILE: join(dir, "env.jsonl") } });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stderr).toBe("");
    const fromFlag = await runLmc([...greedy(), "--stats-file", join(dir, "flag.jsonl"), "My name is"], { env: { LMC_STATS_FILE: join(dir, "env.jsonl") } });
    expect(fromFlag.code).toBe(0);
    expect(lines(join(dir, "env.jsonl"))).toHaveLength(1);
    expect(lines(join(dir, "flag.jsonl"))).toHaveLength(1);
  });

  it.each([
    ["1", ""],
    ["yes", ""],
    ["0", "stats"],
    ["false", "stats"],
    ["", "stats"],
  ])("LMC_NO_STATS=%j", async (value, expected) => {
    const result = await runLmc([...greedy(), "My name is"], { env: { LMC_NO_STATS: value } });
    expect(result.code).toBe(0);
    if (expected === "") expect(result.stderr).toBe("");
    else expect(JSON.parse(result.stderr)).toMatchObject({ model: { key: "lmc-tiny" } });
  });

  it("LMC_NO_STATS=1 wins over LMC_STATS_FILE, and --stats-file over LMC_NO_STATS", async () => {
    const dir = tempDir("stats");
    mkdirSync(join(dir, "sub"));
    const quiet = await runLmc([...greedy(), "My name is"], { env: { LMC_NO_STATS: "1", LMC_STATS_FILE: join(dir, "env.jsonl") } });
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe("");
    const flag = await runLmc([...greedy(), "--stats-file", join(dir, "flag.jsonl"), "My name is"], { env: { LMC_NO_STATS: "1" } });
    expect(flag.code).toBe(0);
    expect(lines(join(dir, "flag.jsonl"))).toHaveLength(1);
    expect(() => statSync(join(dir, "env.jsonl"))).toThrow();
  });
});
