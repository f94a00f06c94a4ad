// What one run holds stays bounded whatever the server sends. The SDK used to keep every
// fragment of a prediction for its final result (2 million tiny ones: 498 MB, then V8
// aborted), and lmc's --no-stream and batch records a string object per fragment; now
// what was written is not kept, and one completion may take at most 16 MiB.

import { closeSync, openSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { expectOneErrorLine } from "./error-line.js";
import { lmcBin, runLmc } from "./lmc-process.js";

const MiB = 1024 * 1024;
/** The documented limit of one completion (man/lmc.1, exit status 1). */
const LIMIT = 16 * MiB;
const tooLarge = /^lmc: the completion passed 16 MiB, the most lmc takes for one: it was cancelled$/;

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterEach(() => server.setFault({ type: "none" }));
afterAll(() => server?.close());

/** The last prediction the server received. */
const lastPrediction = () => server.received.filter((request) => request.channel !== "getOrLoad").at(-1);

/**
 * lmc in a heap of `megabytes`, with stdout a file (a reader that keeps up: what lmc holds
 * for a reader that lags is bounded by the limit of one completion, not by this heap).
 * LMC_NO_CACHE: a heap flag would make lmc record a code cache of its own in the user's home.
 */
async function runInSmallHeap(megabytes: number, args: string[]) {
  const file = join(tempDir("memory"), "out");
  const fd = openSync(file, "w");
  try {
    const env = { NODE_OPTIONS: `--max-old-space-size=${megabytes}`, LMC_NO_CACHE: "1" };
    const result = await runLmc(args, { env, stdout: fd, killAfterMs: 120_000 });
    return { ...result, written: statSync(file).size };
  } finally {
    closeSync(fd);
  }
}

// Node's start-up snapshot (the single executable's) refuses to start with a heap flag in
// NODE_OPTIONS, so these run against the npm package's lmc only; the code is the same.
describe.skipIf(!lmcBin.endsWith(".cjs"))("a streamed completion is not kept: it runs in a small heap, where keeping it aborted V8", () => {
  it("16 MiB in 4 KiB fragments, in a 32 MB heap", async () => {
    server.setFault({ type: "flood", fragments: LIMIT / 4096, text: "x".repeat(4095) + "\n" });
    const result = await runInSmallHeap(32, ["--host", server.url, "--no-stats", "hi"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.written).toBe(LIMIT);
  }, 150_000);

  it("500,000 fragments of one token, in a 24 MB heap", async () => {
    server.setFault({ type: "flood", fragments: 500_000, text: "word " });
    const result = await runInSmallHeap(24, ["--host", server.url, "--no-stats", "hi"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.written).toBe(500_000 * "word ".length);
  }, 150_000);
});

describe("a completion past 16 MiB is cancelled: exit 1 and one line, as any failed prediction", () => {
  // 4 KiB fragments, four times as many as the limit takes: the server is still sending
  // when lmc cancels.
  const past = { type: "flood", fragments: (4 * LIMIT) / 4096, text: "x".repeat(4095) + "\n" } as const;

  it("streamed, what came within the limit stays on stdout", async () => {
    server.setFault(past);
    const result = await runLmc(["--host", server.url, "hi"], { killAfterMs: 60_000 });
    expect(result.code).toBe(1);
    expectOneErrorLine(result, tooLarge);
    expect(result.stdout.length).toBe(LIMIT);
    expect(lastPrediction()?.cancelled).toBe(true);
  }, 90_000);

  it("exactly 16 MiB is a success", async () => {
    server.setFault({ ...past, fragments: LIMIT / 4096 });
    const result = await runLmc(["--host", server.url, "--no-stats", "hi"], { killAfterMs: 60_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.length).toBe(LIMIT);
  }, 90_000);

  it("with --no-stream nothing is written, and -o leaves the file as it was", async () => {
    server.setFault(past);
    const noStream = await runLmc(["--host", server.url, "--no-stream", "hi"], { killAfterMs: 60_000 });
    expect(noStream.code).toBe(1);
    expectOneErrorLine(noStream, tooLarge);
    expect(noStream.stdout.length).toBe(0);

    const out = join(tempDir("too-large"), "out.txt");
    writeFileSync(out, "before\n");
    const toFile = await runLmc(["--host", server.url, "-o", out, "hi"], { killAfterMs: 60_000 });
    expect(toFile.code).toBe(1);
    expectOneErrorLine(toFile, tooLarge);
    expect(readFileSync(out, "utf8")).toBe("before\n");
  }, 90_000);

  it("in batch mode the item gets an error record with status 1, and the batch goes on", async () => {
    server.setFault(past);
    const result = await runLmc(["--host", server.url, "--no-stats", "--each"], { input: "a\nb\n", killAfterMs: 60_000 });
    expect(result.code, result.stderr).toBe(1);
    const records = result.text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(records).toEqual([0, 1].map((index) => ({ index, error: expect.stringMatching(tooLarge.source.replace("^lmc: ", "^")), status: 1 })));
  }, 90_000);
});
