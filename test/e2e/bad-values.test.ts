// Values a careless user (or a hostile file) gives: seconds beyond a timer's reach,
// model keys with control characters, a malformed token where none is needed, and
// files whose contents must not end up in an error message.

import { closeSync, openSync, readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { expectOneErrorLine } from "./error-line.js";
import { runLmc, statsOf, type LmcResult } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterAll(() => server?.close());

describe("seconds beyond Node's timer limit (2147483 s) mean practically none", () => {
  it.each<[string, string[], Record<string, string>]>([
    ["--timeout 1e99", ["--timeout", "1e99"], {}],
    ["--timeout 3000000", ["--timeout", "3000000"], {}],
    ["LMC_TIMEOUT=1e99", [], { LMC_TIMEOUT: "1e99" }],
    ["LMC_TIMEOUT=1e999", [], { LMC_TIMEOUT: "1e999" }],
  ])("%s completes, with nothing but the stats on stderr", async (_, args, env) => {
    const result = await runLmc(["--host", server.url, "-n", "3", ...args, "My name is"], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.text.length).toBeGreaterThan(0);
    expect(statsOf(result).stopReason).toBe("maxPredictedTokensReached");
  });

  it("--ttl 1e99 asks LM Studio for at most a timer's reach", async () => {
    const result = await runLmc(["--host", server.url, "-m", "lmc-tiny-unloaded", "--ttl", "1e99", "-n", "2", "hi"]);
    expect(result.code, result.stderr).toBe(0);
    const load = server.received.filter((request) => request.channel === "getOrLoad").at(-1)!;
    expect(load.loadTtlMs).toBe(2147483000);
  });

  it("--ttl in fractions of a second is a usage error, not the SDK's", async () => {
    const result = await runLmc(["--host", server.url, "-m", "lmc-tiny-unloaded", "--ttl", "1.0001", "-n", "2", "hi"]);
    expect(result.code).toBe(2);
    expectOneErrorLine(result, /--ttl must be a whole number > 0, not "1.0001"/);
  });

  it("batch mode too", async () => {
    const result = await runLmc(["--host", server.url, "-n", "2", "--each", "--timeout", "1e99"], { input: "a\nb\n" });
    expect(result.code, result.stderr).toBe(0);
    expect(result.text.trim().split("\n")).toHaveLength(2);
  });
});

describe("a model key with a control character is a usage error, not the SDK's error box", () => {
  it.each<[string, string[], Record<string, string>, RegExp]>([
    ["-m with a newline", ["-m", "lmc\ntiny"], {}, /--model must be a model key: .*not "lmc\\ntiny"/],
    ["-m with a tab", ["-m", "lmc\ttiny"], {}, /--model must be a model key/],
    ["LMC_MODEL with an escape", [], { LMC_MODEL: "lmc\x1b[2Jtiny" }, /LMC_MODEL must be a model key: .*not "lmc\\u001b\[2Jtiny"/],
    ["--draft-model with a newline", ["--draft-model", "a\nb"], {}, /--draft-model must be a model key/],
    ["--option draftModel with a tab", ["--option", "draftModel=a\tb"], {}, /--option draftModel must be a model key/],
    ["--top-k beyond LM Studio's 500", ["--top-k", "1e99"], {}, /--top-k must be a whole number >= 0 and <= 500/],
  ])("%s", async (_, args, env, pattern) => {
    const before = server.received.length;
    const result = await runLmc(["--host", server.url, "-n", "2", ...args, "hi"], { env });
    expect(result.code).toBe(2);
    expect(result.stdout.length).toBe(0);
    expectOneErrorLine(result, pattern);
    expect(server.received.length).toBe(before);
  });

  it("per item in batch mode: an error record with status 2, and the other items go on", async () => {
    const input = ['{"prompt":"a","model":"lmc\\ntiny"}', '{"prompt":"b","model":"lmc\\ttiny"}', '{"prompt":"c"}'].join("\n") + "\n";
    const result = await runLmc(["--host", server.url, "-n", "2", "--each-jsonl"], { input });
    expect(result.code).toBe(1);
    const records = result.text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(records[0]).toEqual({ index: 0, error: expect.stringMatching(/^line 1: "model" must be a model key/), status: 2 });
    expect(records[1]).toMatchObject({ index: 1, status: 2 });
    expect(records[2]).toMatchObject({ index: 2, completion: expect.any(String) });
    expect(result.text).not.toMatch(/STACK TRACE|[\u2500-\u257f]/);
    expect(result.stderr.split("\n").filter(Boolean)).toHaveLength(1); // the summary line
  });
});

describe("a malformed LM_API_TOKEN matters only to runs that talk to LM Studio", () => {
  const env = { LM_API_TOKEN: "not-a-token" };
  it.each([["--help"], ["--version"], ["--completion", "bash"]])("%s works", async (...args) => {
    const result = await runLmc(args, { env });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.text.length).toBeGreaterThan(0);
  });

  it.each<[string[], string]>([
    [["hi"], ""],
    [["--list"], ""],
    [["--each"], "a\n"],
  ])("%j is a usage error, before connecting", async (args, input) => {
    const result = await runLmc(["--host", server.url, ...args], { env, input });
    expect(result.code).toBe(2);
    expectOneErrorLine(result, /LM_API_TOKEN does not look like an LM Studio API token/);
    expect(result.stderr).not.toContain("not-a-token");
  });
});

describe("files the user points at are named, never quoted", () => {
  it("--schema names the file, the line and the column", async () => {
    const file = join(tempDir("bad-values"), "shadow");
    await writeFile(file, "root:$6$SECRETHASH:19000:0:99999:7:::\n");
    const result = await runLmc(["--host", server.url, "--schema", file, "hi"]);
    expect(result.code).toBe(2);
    expectOneErrorLine(result, new RegExp(`--schema: ${file} is not valid JSON: line 1, column 1`));
    expect(result.stderr).not.toMatch(/SECRET|root|19000/);
  });

  it("--schema points into the file without quoting around the place", async () => {
    const file = join(tempDir("bad-values"), "schema.json");
    await writeFile(file, '{\n  "type": "object",\n  "token": SECRETVALUE\n}\n');
    const result = await runLmc(["--host", server.url, "--schema", file, "hi"]);
    expect(result.code).toBe(2);
    expectOneErrorLine(result, /is not valid JSON: line 3, column 12/);
    expect(result.stderr).not.toMatch(/SECRET|token|object/);
  });

  it("bad JSON Lines are named by their line number, not quoted", async () => {
    const input = ["SECRETLINE one", '{"prompt":"a","maxTokens":"SECRETVALUE"}', '{"prompt":"b","SECRET key!":1}', '{"prompt": "SECRET'].join("\n") + "\n";
    const result = await runLmc(["--host", server.url, "-n", "2", "--each-jsonl"], { input });
    expect(result.code).toBe(1);
    const records = result.text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(records.map((record) => record.error)).toEqual([
      "line 1 is not valid JSON (column 1)",
      'line 2: "maxTokens" must be a whole number >= 1, or off',
      "line 3: unknown field; known: prompt, id, model, stop, chat, system, maxTokens, temperature, topK, topP, minP, repeatPenalty",
      "line 4 is not valid JSON (it ends too early)",
    ]);
    expect(result.text + result.stderr).not.toContain("SECRET");
  });
});

describe("a key that names a member of Object.prototype is an unknown key, not a crash", () => {
  it.each<[string[], RegExp]>([
    [["--option", "__proto__=1"], /^lmc: --option __proto__: unknown setting "__proto__"; known: temperature, maxTokens, .*cpuThreads/],
    [["--option", "constructor=1"], /^lmc: --option constructor: unknown setting "constructor"; known: temperature/],
    [["--context-overflow", "toString"], /^lmc: --context-overflow must be one of stop, truncate-middle, rolling-window, not "toString"/],
  ])("%j is a usage error that lists the known keys", async (args, message) => {
    const result = await runLmc(["--host", server.url, ...args, "My name is"]);
    expect(result.code).toBe(2);
    expect(result.text).toBe("");
    expectOneErrorLine(result, message);
  });
});

describe("an endless or huge prompt source is refused in words, in bounded memory", () => {
  /** lmc run with `stdin` an open /dev/zero (or the file given). */
  const withStdinFrom = async (path: string, args: string[]): Promise<LmcResult> => {
    const fd = openSync(path, "r");
    try {
      return await runLmc(["--host", server.url, "-n", "2", ...args], { stdin: fd, killAfterMs: 60_000 });
    } finally {
      closeSync(fd);
    }
  };

  it("stdin from /dev/zero: a usage error, and nothing is sent", async () => {
    const before = server.received.length;
    const result = await withStdinFrom("/dev/zero", []);
    expect(result.code).toBe(2);
    expect(result.stdout.length).toBe(0);
    expectOneErrorLine(result, /^lmc: stdin is too large for a prompt \(more than 32 MiB\)/);
    expect(server.received.length).toBe(before);
  });

  it("--each-file /dev/zero, eight at once with -P 8: an error record each, and the batch stays small", async () => {
    const last = join(tempDir("endless"), "last.txt");
    await writeFile(last, "My name is\n");
    let peakKiB = 0;
    const result = await runLmc(["--host", server.url, "-n", "2", "--each-file", "-P", "8", ...Array(8).fill("/dev/zero"), last], {
      killAfterMs: 60_000,
      onSpawn: (child) => {
        // VmHWM is the resident set's high-water mark so far: its last reading is a floor of the peak.
        const poll = setInterval(() => {
          try {
            const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1];
            if (hwm !== undefined) peakKiB = Math.max(peakKiB, Number(hwm));
          } catch {
            // gone
          }
        }, 2);
        child.on("exit", () => clearInterval(poll));
      },
    });
    expect(result.code).toBe(1);
    const records = result.text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(records.slice(0, 8)).toEqual(
      Array.from({ length: 8 }, (_, index) => ({ index, file: "/dev/zero", error: "/dev/zero is too large for a prompt (more than 32 MiB)", status: 2 })),
    );
    expect(records[8]).toMatchObject({ index: 8, file: last, completion: expect.any(String) });
    // Reading all of /dev/zero took more than 500 MB before the bound; the bound is 32 MiB a file.
    expect(peakKiB).toBeGreaterThan(0);
    expect(peakKiB / 1024).toBeLessThan(250);
  });

  it.each<[string, string[], (big: string) => string]>([
    ["--each", ["--each"], (big) => `${big}\nMy name is\n`],
    ["--each-jsonl", ["--each-jsonl"], (big) => `{"prompt":"${big}"}\n{"prompt":"My name is"}\n`],
  ])("%s: a line of more than 32 MiB gets an error record, and the next line is completed", async (_, args, input) => {
    const file = join(tempDir("huge-line"), "input");
    await writeFile(file, input("a".repeat(32 * 1024 * 1024 + 1)));
    const result = await withStdinFrom(file, args);
    expect(result.code).toBe(1);
    const records = result.text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(records).toHaveLength(2);
    expect(records[0]).toEqual({ index: 0, error: "line 1 is too large for a prompt (more than 32 MiB)", status: 2 });
    expect(records[1]).toMatchObject({ index: 1, completion: expect.any(String) });
  });
});

describe("an option behind a typographic dash (as word processors rewrite --) is a usage error, not prompt text", () => {
  it.each<[string, string[]]>([
    ["an em dash", ["\u2014max-tokens", "3", "My name is"]],
    ["an en dash, with =", ["My name is", "\u2013max-tokens=3"]],
    ["a minus sign", ["\u2212\u2212max-tokens", "3", "My name is"]],
  ])("%s", async (_, args) => {
    const before = server.received.length;
    const result = await runLmc(["--host", server.url, ...args]);
    expect(result.code).toBe(2);
    expect(result.stdout.length).toBe(0);
    expectOneErrorLine(result, /starts with U\+[0-9A-F]{4}, not "--" \(did you mean --max-tokens\?\); put a prompt that starts with it after "--"/);
    expect(server.received.length).toBe(before);
  });

  it("after --, such a word is prompt text", async () => {
    const result = await runLmc(["--host", server.url, "-n", "2", "--", "\u2014max-tokens", "3"]);
    expect(result.code, result.stderr).toBe(0);
    expect(server.received.at(-1)!.prompt).toBe("\u2014max-tokens 3");
  });
});
