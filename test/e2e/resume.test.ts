// --resume end to end, where it meets the output: onto its own file with -o, and
// appended to with >> after a run that was killed mid-write.

import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { expectOneErrorLine } from "./error-line.js";
import { cleanEnv, lmcBin, runLmc, type LmcResult } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterEach(() => server.setFault({ type: "none" }));
afterAll(() => server?.close());

const greedy = () => ["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "4"];
const summaryOf = (result: LmcResult) => JSON.parse(result.stderr.trim().split("\n").at(-1)!);
const input = ["My name is", "I like", "The sea is", "Every day", "The town", "A cat"].join("\n") + "\n";
const lines = (file: string) => readFileSync(file, "utf8").split("\n").filter(Boolean);

const earlier = {
  zero: JSON.stringify({ index: 0, completion: "zero, from before", stats: {} }),
  twoFailed: JSON.stringify({ index: 2, error: "failed before", status: 1 }),
  four: JSON.stringify({ index: 4, completion: "four, from before" }),
  nine: JSON.stringify({ index: 9, completion: "nine: an item this input does not reach" }),
  ten: JSON.stringify({ index: 10, completion: "ten: after nine, by number" }),
  cut: '{"index": 5, "completion": "cut sh',
};

describe("--resume FILE -o FILE", () => {
  it.each([
    ["the same path", (out: string) => out],
    ["another spelling of it", (out: string) => out.replace(/out\.jsonl$/, ".//out.jsonl")],
    [
      "a symlink to it",
      (out: string) => {
        const link = join(out, "..", "link.jsonl");
        symlinkSync("out.jsonl", link);
        return link;
      },
    ],
  ])("keeps the earlier records and adds the new ones, in input order (-o %s)", async (_, spell) => {
    const out = join(tempDir("resume-same"), "out.jsonl");
    writeFileSync(out, [earlier.four, earlier.zero, earlier.twoFailed, earlier.ten, earlier.nine, earlier.cut].join("\n"));
    const result = await runLmc([...greedy(), "--each", "--resume", out, "-o", spell(out)], { input });
    expect(result.code).toBe(0);
    expect(result.stdout.length).toBe(0);
    expect(summaryOf(result)).toMatchObject({ items: 4, failures: 0, skipped: 2 });
    const after = lines(out);
    expect(after.map((line) => JSON.parse(line).index)).toEqual([0, 1, 2, 3, 4, 5, 9, 10]);
    // The earlier records as they were, byte for byte; the new ones completed.
    expect([after[0], after[4], after[6], after[7]]).toEqual([earlier.zero, earlier.four, earlier.nine, earlier.ten]);
    for (const index of [1, 2, 3, 5]) expect(typeof JSON.parse(after[index]!).completion).toBe("string");
  });

  it("leaves FILE as it was when the batch ends early", async () => {
    const out = join(tempDir("resume-same"), "out.jsonl");
    const before = [earlier.zero, earlier.four].join("\n") + "\n";
    writeFileSync(out, before);
    server.setFault({ type: "refuse" });
    const result = await runLmc([...greedy(), "--each", "--resume", out, "-o", out], { input });
    expect(result.code).toBe(3);
    expect(readFileSync(out, "utf8")).toBe(before);
  });
});

describe("--resume FILE ... >> FILE", () => {
  /** `lmc ARGS < input >> file`, as a shell runs it. */
  async function appendingTo(file: string, args: string[]): Promise<number | null> {
    const fd = openSync(file, "a");
    try {
      const [command, argv] = lmcBin.endsWith(".cjs") ? [process.execPath, [lmcBin, ...args]] : [lmcBin, args];
      const child = spawn(command, argv, { env: cleanEnv(), stdio: ["pipe", fd, "ignore"] });
      child.stdin!.end(input);
      return await new Promise((resolve) => child.on("close", resolve));
    } finally {
      closeSync(fd);
    }
  }

  it.each([
    ["stdout", []],
    ["-o /dev/fd/1", ["-o", "/dev/fd/1"]],
  ])("after a run cut off mid-write, starts on a line of its own and runs the cut item again (%s)", async (_, output) => {
    const out = join(tempDir("resume-append"), "out.jsonl");
    writeFileSync(out, [earlier.zero, earlier.cut].join("\n"));
    expect(await appendingTo(out, [...greedy(), "--each", "--resume", out, ...output])).toBe(0);
    const after = lines(out);
    expect(after.slice(0, 2)).toEqual([earlier.zero, earlier.cut]);
    expect(after.slice(2).map((line) => JSON.parse(line).index)).toEqual([1, 2, 3, 4, 5]);
    // And the next resume finds every item done.
    const again = await runLmc([...greedy(), "--each", "--resume", out], { input });
    expect(again.code).toBe(0);
    expect(summaryOf(again)).toMatchObject({ items: 0, skipped: 6 });
  });

  it("adds no empty line when FILE ends a line", async () => {
    const dir = tempDir("resume-append");
    mkdirSync(join(dir, "sub"));
    const out = join(dir, "sub", "out.jsonl");
    writeFileSync(out, earlier.zero + "\n");
    expect(await appendingTo(out, [...greedy(), "--each", "--resume", out])).toBe(0);
    expect(readFileSync(out, "utf8")).not.toContain("\n\n");
    expect(lines(out)).toHaveLength(6);
  });
});

it("--resume counts a record as done only when it has a string completion and no error", async () => {
  const out = join(tempDir("resume-null"), "out.jsonl");
  // Item 3 ran out of --timeout mid-completion: its record keeps the partial text, and an error.
  const timedOut = { index: 3, error: "the deadline of 1 s (--timeout) passed mid-completion", status: 124, completion: "My na" };
  writeFileSync(out, ['{"index":0,"completion":"x"}', '{"index":1,"completion":null}', '{"index":2}', JSON.stringify(timedOut)].join("\n") + "\n");
  const result = await runLmc([...greedy(), "--each", "--resume", out], { input: "My name is\nI like\nThe sea is\nEvery day\n" });
  expect(result.code).toBe(0);
  expect(
    result.text
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line).index),
  ).toEqual([1, 2, 3]);
  expect(summaryOf(result)).toMatchObject({ items: 3, skipped: 1 });
});

it("reads a 100 MB --resume file without a newline in time linear in its length (well under 20 s)", async () => {
  // A run killed mid-write of a huge record; read chunk by chunk into one ever
  // longer record, it took minutes (every chunk copied all the earlier ones).
  const out = join(tempDir("resume-long"), "out.jsonl");
  writeFileSync(out, Buffer.alloc(100 * 1024 * 1024, "x"));
  const result = await runLmc([...greedy(), "--each", "--resume", out], { input: "My name is\n", killAfterMs: 20_000 });
  expect(result.code).toBe(0);
  expect(summaryOf(result)).toMatchObject({ items: 1, skipped: 0 });
});

it("refuses a --resume source with a line longer than any record lmc writes (/dev/zero), at once and in bounded memory", async () => {
  // It grew without bound (gigabytes a minute), one ever longer line that never ends.
  const result = await runLmc([...greedy(), "--each", "--resume", "/dev/zero"], { input: "My name is\n", killAfterMs: 60_000 });
  expect(result.code).toBe(2);
  expectOneErrorLine(result, /^lmc: --resume: \/dev\/zero is not the output of lmc: a line of more than 320 MiB/);
  expect(result.text).toBe("");
});
