// Batch mode end to end: many prompts through one lmc, records in input order.

import { closeSync, openSync, readSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { runLmc, type LmcResult } from "./lmc-process.js";
import { tempDir } from "../temp-dir.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterEach(() => {
  server.setFault({ type: "none" });
  expect(server.warnings).toEqual([]);
});
afterAll(() => server?.close());

const records = (result: LmcResult) =>
  result.text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
const summaryOf = (result: LmcResult) => JSON.parse(result.stderr.trim().split("\n").at(-1)!);
const greedy = () => ["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "8"];
const single = async (prompt: string) => (await runLmc([...greedy(), prompt])).text;

describe("--each", () => {
  it("completes every line, in input order, exactly as single runs would", async () => {
    const prompts = ["My name is", "The sea is", "I like", "Every day", "My name is", "The town"];
    const result = await runLmc([...greedy(), "--each", "-P", "3"], { input: prompts.join("\n") + "\n" });
    expect(result.code).toBe(0);
    const out = records(result);
    expect(out.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    for (const [i, prompt] of prompts.entries()) expect(out[i].completion).toBe(await single(prompt));
    expect(out[0].stats).toMatchObject({ model: { key: "lmc-tiny" }, predictedTokensCount: 8 });
    expect(summaryOf(result)).toMatchObject({ items: 6, failures: 0, predictedTokensCount: 48 });
  });

  it.each(["4", "16"])("writes nothing on stderr but the summary, however many items (no listener piles up), -P %s", async (parallel) => {
    const input = Array.from({ length: 30 }, (_, i) => `prompt ${i}`).join("\n");
    const result = await runLmc(["--host", server.url, "-n", "1", "--each", "-P", parallel], { input });
    expect(result.code).toBe(0);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(summaryOf(result)).toMatchObject({ items: 30, failures: 0 });
  });

  it("puts each line where - stands among the words", async () => {
    const result = await runLmc([...greedy(), "--each", "Q:", "-", "A:"], { input: "one\ntwo\n" });
    expect(result.code).toBe(0);
    const prompts = server.received
      .filter((r) => r.channel !== "getOrLoad")
      .slice(-2)
      .map((r) => r.prompt)
      .sort();
    expect(prompts).toEqual(["Q: one A:", "Q: two A:"]);
  });

  it.each([
    ["each ended by a NUL", "line one\nline two\0second\0"],
    ["the last not ended (printf 'a\\0b')", "line one\nline two\0second"],
  ])("takes NUL-separated prompts with --null: %s", async (_, input) => {
    const before = server.received.length;
    const result = await runLmc([...greedy(), "--each", "--null", "-P", "1"], { input });
    expect(result.code).toBe(0);
    expect(records(result).map((r) => r.index)).toEqual([0, 1]);
    const prompts = server.received
      .slice(before)
      .filter((r) => r.channel !== "getOrLoad")
      .map((r) => r.prompt);
    expect(prompts).toEqual(["line one\nline two", "second"]);
  });

  it("--echo puts the prompt once before each completion in its record, as a single run writes it", async () => {
    const result = await runLmc([...greedy(), "--each", "--echo"], { input: "My name is\nI like\n" });
    expect(result.code).toBe(0);
    expect(records(result).map((r) => r.completion)).toEqual([`My name is${await single("My name is")}`, `I like${await single("I like")}`]);
  });

  it("ends each completion before its --stop string, as a single run does", async () => {
    const stopAtDot = ["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "40", "--stop", "."];
    const prompts = ["My name is", "I like"];
    const result = await runLmc([...stopAtDot, "--each"], { input: prompts.join("\n") + "\n" });
    expect(result.code).toBe(0);
    const out = records(result);
    for (const [i, prompt] of prompts.entries()) {
      expect(out[i].stats).toMatchObject({ stopReason: "stopStringFound", stopString: "." });
      expect(out[i].completion.length).toBeGreaterThan(0);
      expect(out[i].completion).not.toContain(".");
      expect(out[i].completion).toBe((await runLmc([...stopAtDot, prompt])).text);
    }
  });

  it("records a failed item and goes on; the exit status says some failed", async () => {
    const result = await runLmc([...greedy(), "--each"], { input: "My name is\n\nI like\n" });
    expect(result.code).toBe(1);
    const out = records(result);
    expect(out[1]).toEqual({ index: 1, error: "the prompt is empty", status: 2 });
    expect(out[2].completion).toBe(await single("I like"));
    expect(summaryOf(result)).toMatchObject({ items: 3, failures: 1 });
  });

  it("ends at once, with nothing on stdout, when LM Studio cannot be reached", async () => {
    server.setFault({ type: "refuse" });
    const result = await runLmc(["--host", server.url, "--each"], { input: "a\nb\n" });
    expect(result.code).toBe(3);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr).toMatch(/^lmc: cannot reach LM Studio at /);
  });

  it("on Ctrl-C cancels what is in flight and leaves whole records up to the last finished one", async () => {
    server.setFault({ type: "slow", delayMs: 40 });
    const input = Array.from({ length: 40 }, () => "My name is").join("\n");
    const result = await runLmc([...greedy(), "--each", "-P", "2"], {
      input,
      onSpawn: (child) => child.stdout!.once("data", () => setTimeout(() => child.kill("SIGINT"), 100)),
    });
    expect(result.code).toBe(130);
    expect(result.text.endsWith("\n")).toBe(true);
    const out = records(result);
    expect(out.length).toBeGreaterThan(0);
    expect(out.length).toBeLessThan(40);
    expect(out.map((r) => r.index)).toEqual(out.map((_, i) => i));
  });
});

describe("--each-jsonl", () => {
  it("reads a prompt and per-item settings from each line", async () => {
    const input = ['{"prompt":"My name is","maxTokens":3}', '{"prompt":"I like","stop":"."}', "not json"].join("\n");
    const result = await runLmc([...greedy(), "--each-jsonl"], { input });
    expect(result.code).toBe(1);
    const [first, second, third] = records(result);
    expect(first.stats.predictedTokensCount).toBe(3);
    expect(second.stats.stopReason).toBe("stopStringFound");
    expect(second.completion).not.toContain(".");
    expect(third).toMatchObject({ index: 2, status: 2, error: expect.stringMatching(/^line 3 is not valid JSON/) });
  });
  it("copies each item's id, any JSON value, into its record right after index, error records too, and --resume goes on by index", async () => {
    const huge = JSON.stringify("x".repeat(1 << 20));
    // A "__proto__" key of an id is the id's own key, written back as it came, never a prototype.
    const hostile = '{"__proto__":{"polluted":true},"deep":[[[{"a":"\\n\\u0000"}]]]}';
    const ids = ['"a-1"', "7", "null", hostile, huge];
    const lines = [
      ...ids.map((id) => `{"prompt":"My name is","id":${id}}`),
      // Parsed, then refused: it keeps its id. Not JSON: it has none.
      '{"id":{"k":[1]},"prompt":"I like","maxTokens":0}',
      '{"id":"lost","prompt":',
      '{"prompt":"I like"}',
    ];
    const first = await runLmc([...greedy(), "--each-jsonl"], { input: lines.join("\n") });
    expect(first.code).toBe(1);
    const written = first.text.trim().split("\n");
    expect(written.map((line) => Object.keys(JSON.parse(line)).slice(0, 2))).toEqual([
      ...ids.map(() => ["index", "id"]),
      ["index", "id"],
      ["index", "error"],
      ["index", "completion"],
    ]);
    ids.forEach((id, index) => expect(written[index]!.startsWith(`{"index":${index},"id":${id},"completion":`)).toBe(true));
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(JSON.parse(written[5]!)).toMatchObject({ index: 5, id: { k: [1] }, status: 2 });
    // The failed items, and only they, are done again, with their ids.
    const out = join(tempDir("batch-id"), "out.jsonl");
    await writeFile(out, first.text);
    const fixed = lines.join("\n").replace('"maxTokens":0', '"maxTokens":2');
    const resumed = await runLmc([...greedy(), "--each-jsonl", "--resume", out], { input: fixed });
    expect(resumed.code).toBe(1);
    expect(records(resumed).map((record) => [record.index, record.id, record.status])).toEqual([
      [5, { k: [1] }, undefined],
      [6, undefined, 2],
    ]);
  });

  it("gives a line whose field names a member of Object.prototype an error record, and goes on with the others", async () => {
    const hostile = ["__proto__", "constructor", "hasOwnProperty", "toString"];
    const input = [
      '{"prompt":"My name is"}',
      ...hostile.map((name) => `{"prompt":"I like",${JSON.stringify(name)}:{"maxTokens":1}}`),
      '{"prompt":"I like"}',
    ].join("\n");
    const result = await runLmc([...greedy(), "--each-jsonl", "-P", "2"], { input });
    expect(result.code).toBe(1);
    expect(result.stderr).not.toMatch(/^lmc:/m);
    const out = records(result);
    expect(out.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(out[0].completion).toBe(await single("My name is"));
    for (const [i, name] of hostile.entries()) {
      expect(out[i + 1]).toEqual({ index: i + 1, status: 2, error: expect.stringMatching(new RegExp(`^line ${i + 2}: unknown field "${name}"`)) });
    }
    expect(out[5].completion).toBe(await single("I like"));
    expect(summaryOf(result)).toMatchObject({ items: 6, failures: 4 });
  });
});

describe("--each-file", () => {
  it("completes each whole file, naming it in its record; an unreadable one keeps its place", async () => {
    const dir = tempDir("batch");
    const [a, b] = [join(dir, "a.txt"), join(dir, "b.txt")];
    await writeFile(a, "My name is\n");
    await writeFile(b, "I like\n");
    const result = await runLmc([...greedy(), "--each-file", a, join(dir, "missing.txt"), b, join(dir, "missing too.txt")]);
    expect(result.code).toBe(1);
    const out = records(result);
    expect(out).toHaveLength(4);
    expect(out[0]).toMatchObject({ index: 0, file: a, completion: await single("My name is") });
    expect(out[1]).toEqual({ index: 1, file: join(dir, "missing.txt"), status: 2, error: expect.stringMatching(/^cannot read .*missing.txt/) });
    expect(out[2]).toMatchObject({ index: 2, file: b, completion: await single("I like") });
    expect(out[3]).toMatchObject({ index: 3, status: 2, error: expect.stringMatching(/^cannot read .*missing too.txt/) });
  });

  it.each<[string, string[], (files: string[]) => string]>([
    ["one per line", [], (files) => files.join("\n") + "\n"],
    ["NUL-separated, with -0, as find -print0 writes them", ["-0"], (files) => files.map((f) => `${f}\0`).join("")],
  ])("with no file words, completes the files named on stdin: %s", async (_, flags, list) => {
    const dir = tempDir("each-file-stdin");
    const a = join(dir, "a.txt");
    const b = join(dir, "b with\nnewline.txt");
    await writeFile(a, "My name is\n");
    await writeFile(b, "I like\n");
    const files = flags.length > 0 ? [a, b] : [a, join(dir, "c.txt")];
    if (flags.length === 0) await writeFile(files[1]!, "I like\n");
    const result = await runLmc([...greedy(), "--each-file", ...flags], { input: list(files) });
    expect(result.stderr).not.toMatch(/^lmc:/m);
    expect(result.code).toBe(0);
    const out = records(result);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatchObject({ index: 0, file: a, completion: await single("My name is") });
    expect(out[1]).toMatchObject({ index: 1, file: files[1], completion: await single("I like") });
  });
});

describe("--each-file, empty names", () => {
  it("-0: an empty name (two NULs in a row) is an item that fails at its index; the indexes after it stay", async () => {
    const dir = tempDir("each-file-empty-name");
    const [a, b] = [join(dir, "a.txt"), join(dir, "b.txt")];
    await writeFile(a, "My name is\n");
    await writeFile(b, "I like\n");
    const result = await runLmc([...greedy(), "--each-file", "-0"], { input: `${a}\0\0${b}\0\0` });
    expect(result.code).toBe(1);
    const out = records(result);
    expect(out.map((r) => r.index)).toEqual([0, 1, 2, 3]);
    expect(out[0]).toMatchObject({ file: a, completion: await single("My name is") });
    expect(out[1]).toEqual({ index: 1, file: "", error: "the file name is empty", status: 2 });
    expect(out[2]).toMatchObject({ file: b, completion: await single("I like") });
    expect(out[3]).toEqual({ index: 3, file: "", error: "the file name is empty", status: 2 });
    expect(summaryOf(result)).toMatchObject({ items: 4, failures: 2 });
  });
});

describe("usage", () => {
  it.each<[string[], RegExp]>([
    [["--each", "--each-jsonl"], /--each and --each-jsonl cannot go together/],
    [["--null", "x"], /--null goes with --each/],
    [["--each-file", "-0", "a.txt"], /--null goes with --each, or --each-file with the file names on stdin/],
    [["-P", "2", "x"], /--parallel goes with --each/],
    [["--each", "-P", "0"], /--parallel must be a whole number >= 1/],
  ])("%j", async (args, message) => {
    const result = await runLmc(["--host", server.url, ...args], { input: "" });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});

describe("--resume", () => {
  it("skips the items an earlier output holds, and redoes the ones that failed", async () => {
    const dir = tempDir("resume");
    const out = join(dir, "out.jsonl");
    const earlier = [
      JSON.stringify({ index: 0, completion: "done before", stats: {} }),
      JSON.stringify({ index: 2, error: "failed before", status: 1 }),
      '{"index": 3, "completion": "cut sh', // a line the interrupted run did not finish
    ].join("\n");
    await writeFile(out, earlier);
    const before = server.received.filter((r) => r.channel !== "getOrLoad").length;
    const result = await runLmc([...greedy(), "--each", "--resume", out], { input: "My name is\nI like\nThe sea is\nEvery day\n" });
    expect(result.code).toBe(0);
    expect(records(result).map((r) => r.index)).toEqual([1, 2, 3]);
    expect(summaryOf(result)).toMatchObject({ items: 3, failures: 0, skipped: 1 });
    expect(server.received.filter((r) => r.channel !== "getOrLoad").length - before).toBe(3);
  });

  it("starts from the beginning when the output does not exist yet", async () => {
    const dir = tempDir("resume");
    const result = await runLmc([...greedy(), "--each", "--resume", join(dir, "new.jsonl")], { input: "a\nb\n" });
    expect(result.code).toBe(0);
    expect(records(result).map((r) => r.index)).toEqual([0, 1]);
  });
});

describe("progress", () => {
  /** lmc with stdin a file holding `text`, from `offset` on (as after `read line`). */
  async function fromFile(args: string[], text: string, offset = 0) {
    const file = join(tempDir("progress"), "prompts.txt");
    await writeFile(file, text);
    const fd = openSync(file, "r");
    try {
      if (offset > 0) readSync(fd, Buffer.alloc(offset));
      return await runLmc(args, { stdin: fd });
    } finally {
      closeSync(fd);
    }
  }

  it("shows the total when stdin is a file, counted from where stdin stands", async () => {
    const whole = await fromFile([...greedy(), "--each", "--progress"], "My name is\nI like\nThe sea is\n");
    expect(whole.code).toBe(0);
    expect(whole.stderr).toMatch(/\r\x1b\[K1\/3 done, 0 failed, [\d.]+\/s {2}\[########----------------\] {2}33%/);
    expect(whole.stderr).toMatch(/\r\x1b\[K3\/3 done, 0 failed, [\d.]+\/s {2}\[#{24}\] 100%/);
    const rest = await fromFile([...greedy(), "--each", "--progress"], "My name is\nI like\nThe sea is", "My name is\n".length);
    expect(records(rest).map((r) => r.index)).toEqual([0, 1]);
    expect(rest.stderr).toMatch(/\r\x1b\[K2\/2 done/);
    const nul = await fromFile([...greedy(), "--each", "--null", "--progress"], "a\0b\0");
    expect(nul.stderr).toMatch(/\r\x1b\[K2\/2 done/);
  });

  it("shows the number of files with --each-file, less those --resume skips", async () => {
    const dir = tempDir("progress");
    const files = ["a", "b", "c"].map((name) => join(dir, name));
    await Promise.all(files.map((file) => writeFile(file, "My name is")));
    const resume = join(dir, "out.jsonl");
    await writeFile(resume, '{"index":1,"completion":"x"}\n');
    const result = await runLmc([...greedy(), "--each-file", "--progress", "--resume", resume, ...files]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/\r\x1b\[K2\/2 done, 0 failed, 1 skipped/);
  });

  it("--progress shows done, failed and the rate, then clears before the summary", async () => {
    const result = await runLmc([...greedy(), "--each", "--progress"], { input: "a\n\nb\n" });
    expect(result.stderr).toMatch(/\r\x1b\[K3 done, 1 failed, [\d.]+\/s/);
    const summary = result.stderr.slice(result.stderr.lastIndexOf("\x1b[K") + 3);
    expect(JSON.parse(summary)).toMatchObject({ items: 3, failures: 1 });
  });
});

describe("--delimiter", () => {
  it("writes the completions alone, each followed by the delimiter, failed ones empty", async () => {
    const result = await runLmc([...greedy(), "--each", "--delimiter", "\\0", "--no-stats"], { input: "My name is\n\nI like\n" });
    expect(result.code).toBe(1);
    expect(result.text).toBe(`${await single("My name is")}\0\0${await single("I like")}\0`);
    expect(result.stderr).toBe("lmc: item 1: the prompt is empty\n");
  });

  it("takes any string, with \\n and \\t, and writes it after each completion", async () => {
    const result = await runLmc([...greedy(), "-n", "2", "--each", "-d", "\\n--\\t-\\n", "--no-stats"], { input: "My name is\nI like\n" });
    expect(result.code).toBe(0);
    const short = async (prompt: string) => (await runLmc([...greedy(), "-n", "2", prompt])).text;
    const [first, second] = [await short("My name is"), await short("I like")];
    expect(first).not.toBe("");
    expect(result.text).toBe(`${first}\n--\t-\n${second}\n--\t-\n`);
  });

  it("cannot go with --resume", async () => {
    const result = await runLmc([...greedy(), "--each", "-d", "x", "--resume", "out.jsonl"], { input: "" });
    expect(result.code).toBe(2);
  });
});
