// --resume end to end, where it meets the output: onto its own file with -o, and
// appended to with >> after a run that was killed mid-write.

import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
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

  it("leaves FILE as it was when the batch ends before any item is done", async () => {
    const out = join(tempDir("resume-same"), "out.jsonl");
    const before = [earlier.zero, earlier.four].join("\n") + "\n";
    writeFileSync(out, before);
    server.setFault({ type: "refuse" });
    const result = await runLmc([...greedy(), "--each", "--resume", out, "-o", out], { input });
    expect(result.code).toBe(3);
    expect(readFileSync(out, "utf8")).toBe(before);
  });
});

describe("--resume FILE -o FILE ended early: FILE keeps the progress", () => {
  const prompts = [
    "My name is",
    "I like",
    "The sea is",
    "Every day",
    "The town",
    "A cat",
    "The baker",
    "In the morning",
    "The road",
    "My friend",
    "The river",
    "At night",
  ];
  const many = prompts.join("\n") + "\n";
  /** The records by index, timings aside: what an interrupted run must end up equal to. */
  const byIndex = (records: string[]) =>
    records.map((line) => {
      const { index, completion, error } = JSON.parse(line) as { index: number; completion?: string; error?: string };
      return { index, completion, error };
    });
  let uninterrupted: ReturnType<typeof byIndex>;
  beforeAll(async () => {
    const result = await runLmc([...greedy(), "--each"], { input: many });
    expect(result.code).toBe(0);
    uninterrupted = byIndex(result.text.split("\n").filter(Boolean));
    expect(uninterrupted).toHaveLength(prompts.length);
  });

  /** The number of items done that the progress line last showed. */
  const doneSoFar = (stderr: string) => Number([...stderr.matchAll(/(\d+) done/g)].at(-1)?.[1] ?? 0);
  /** A batch onto FILE, one item at a time and slowly, and `then` done once `items` more are done. */
  const resumeRun = (out: string, items: number, then: (child: ChildProcess) => void, extra: string[] = []) =>
    runLmc([...greedy(), "-P", "1", "--progress", ...extra, "--each", "--resume", out, "-o", out], {
      input: many,
      killAfterMs: 30_000,
      onSpawn(child) {
        let stderr = "";
        let done = false;
        child.stderr!.on("data", (chunk: Buffer | string) => {
          stderr += chunk.toString();
          if (!done && doneSoFar(stderr) >= items) {
            done = true;
            then(child);
          }
        });
      },
    });

  it.each<[NodeJS.Signals, number]>([
    ["SIGTERM", 143],
    ["SIGINT", 130],
    ["SIGHUP", 129],
  ])("%s mid-batch: FILE holds every record finished, and the next run completes the rest", async (signal, status) => {
    const out = join(tempDir("resume-progress"), "out.jsonl");
    server.setFault({ type: "slow", delayMs: 40 });
    const interrupted = await resumeRun(out, 3, (child) => child.kill(signal));
    expect(interrupted.code).toBe(status);
    const kept = lines(out);
    expect(kept.length).toBeGreaterThanOrEqual(3);
    expect(kept.length).toBeLessThan(prompts.length);
    expect(byIndex(kept)).toEqual(uninterrupted.slice(0, kept.length));
    expect(readdirSync(join(out, "..")).filter((name) => name !== "out.jsonl")).toEqual([]);

    server.setFault({ type: "none" });
    const rest = await runLmc([...greedy(), "--each", "--resume", out, "-o", out], { input: many });
    expect(rest.code).toBe(0);
    expect(summaryOf(rest)).toMatchObject({ items: prompts.length - kept.length, skipped: kept.length });
    expect(byIndex(lines(out))).toEqual(uninterrupted);
  });

  it("with four in flight: FILE holds the records up to the first unfinished item, and the next run ends equal to an uninterrupted one", async () => {
    const out = join(tempDir("resume-progress"), "out.jsonl");
    server.setFault({ type: "slow", delayMs: 40 });
    const interrupted = await resumeRun(out, 5, (child) => child.kill("SIGTERM"), ["-P", "4"]);
    expect(interrupted.code).toBe(143);
    const kept = lines(out);
    expect(byIndex(kept)).toEqual(uninterrupted.slice(0, kept.length));
    server.setFault({ type: "none" });
    const rest = await runLmc([...greedy(), "--each", "--resume", out, "-o", out], { input: many });
    expect(rest.code).toBe(0);
    expect(byIndex(lines(out))).toEqual(uninterrupted);
  });

  it("a host that falls silent mid-batch (exit 3): FILE holds what was finished", async () => {
    const out = join(tempDir("resume-progress"), "out.jsonl");
    server.setFault({ type: "slow", delayMs: 40 });
    const failed = await resumeRun(out, 2, () => server.setFault({ type: "hang" }), ["--idle-timeout", "1"]);
    expect(failed.code).toBe(3);
    const kept = lines(out);
    expect(kept.length).toBeGreaterThanOrEqual(2);
    expect(byIndex(kept)).toEqual(uninterrupted.slice(0, kept.length));
  });

  it("interrupted again and again, each run gets further, and the records end up those of an uninterrupted run", async () => {
    const out = join(tempDir("resume-progress"), "out.jsonl");
    server.setFault({ type: "slow", delayMs: 40 });
    let held = 0;
    for (let run = 0; run < 3; run++) {
      const result = await resumeRun(out, 2, (child) => child.kill("SIGTERM"));
      expect(result.code).toBe(143);
      const now = lines(out).length;
      expect(now).toBeGreaterThanOrEqual(held + 2);
      held = now;
    }
    server.setFault({ type: "none" });
    const rest = await runLmc([...greedy(), "--each", "--resume", out, "-o", out], { input: many });
    expect(rest.code).toBe(0);
    expect(byIndex(lines(out))).toEqual(uninterrupted);
  });

  it("keeps the earlier records that come after the first unfinished item, so none is lost (the index order then has a gap)", async () => {
    const out = join(tempDir("resume-progress"), "out.jsonl");
    const later = JSON.stringify({ index: 10, completion: "ten, from before" });
    writeFileSync(out, later + "\n");
    server.setFault({ type: "slow", delayMs: 40 });
    const interrupted = await resumeRun(out, 2, (child) => child.kill("SIGTERM"));
    expect(interrupted.code).toBe(143);
    const kept = lines(out);
    expect(kept.length).toBeGreaterThanOrEqual(3); // two new records at least, and the earlier one
    expect(kept.at(-1)).toBe(later);
    const indexes = kept.map((line) => JSON.parse(line).index as number);
    expect(indexes.slice(0, -1)).toEqual(indexes.slice(0, -1).map((_, i) => i));
    expect(indexes.length - 1).toBeLessThan(10);

    server.setFault({ type: "none" });
    const rest = await runLmc([...greedy(), "--each", "--resume", out, "-o", out], { input: many });
    expect(rest.code).toBe(0);
    expect(summaryOf(rest)).toMatchObject({ skipped: kept.length });
    const after = lines(out);
    expect(after[10]).toBe(later);
    expect(byIndex(after).filter((record) => record.index !== 10)).toEqual(uninterrupted.filter((record) => record.index !== 10));
  });

  it("SIGKILL mid-run leaves FILE as it was before that run", async () => {
    const out = join(tempDir("resume-progress"), "out.jsonl");
    const before = JSON.stringify({ index: 0, completion: "zero, from before" }) + "\n";
    writeFileSync(out, before);
    server.setFault({ type: "slow", delayMs: 40 });
    const killed = await resumeRun(out, 3, (child) => child.kill("SIGKILL"));
    expect(killed.signal).toBe("SIGKILL");
    expect(readFileSync(out, "utf8")).toBe(before);
  });

  it("plain -o without --resume stays all or nothing", async () => {
    const out = join(tempDir("resume-progress"), "out.jsonl");
    writeFileSync(out, "previous\n");
    server.setFault({ type: "slow", delayMs: 40 });
    const result = await runLmc([...greedy(), "-P", "1", "--progress", "--each", "-o", out], {
      input: many,
      onSpawn(child) {
        let stderr = "";
        child.stderr!.on("data", (chunk: Buffer | string) => {
          stderr += chunk.toString();
          if (doneSoFar(stderr) === 3) child.kill("SIGTERM");
        });
      },
    });
    expect(result.code).toBe(143);
    expect(readFileSync(out, "utf8")).toBe("previous\n");
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
