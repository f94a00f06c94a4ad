// Batch mode over several LM Studio servers, and what happens when one fails.

import { afterAll, afterEach, beforeAll, expect, it, vi } from "vitest";
import { startTestServer, type Fault, type TestServer } from "../server/server.js";
import { runLmc, type LmcResult } from "./lmc-process.js";

let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer({ quiet: true }), startTestServer({ quiet: true })]);
});
afterEach(() => [a, b].forEach((server) => server.setFault({ type: "none" })));
afterAll(() => Promise.all([a?.close(), b?.close()]));

const records = (result: LmcResult) =>
  result.text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line));
const summaryOf = (result: LmcResult) => JSON.parse(result.stderr.trim().split("\n").at(-1)!);
const input = Array.from({ length: 12 }, (_, i) => `My name is ${i}`).join("\n") + "\n";
const batchArgs = () => ["--host", a.url, "--host", b.url, "-m", "lmc-tiny", "-t", "0", "-n", "6", "--each", "-P", "2"];
const batch = () => runLmc(batchArgs(), { input });

it("spreads the items over the hosts, in input order", async () => {
  const result = await batch();
  expect(result.code).toBe(0);
  const out = records(result);
  expect(out.map((r) => r.index)).toEqual([...Array(12).keys()]);
  expect(new Set(out.map((r) => r.host))).toEqual(new Set([a.url, b.url]));
  expect(summaryOf(result)).toMatchObject({ items: 12, failures: 0, failedHosts: [] });
});

it("takes a host that refuses connections out of the rotation, and retries its items elsewhere", async () => {
  b.setFault({ type: "refuse" });
  const result = await batch();
  expect(result.code).toBe(0);
  const out = records(result);
  expect(out.map((r) => r.index)).toEqual([...Array(12).keys()]);
  expect(out.every((r) => r.host === a.url && typeof r.completion === "string")).toBe(true);
  expect(out.some((r) => r.retriedFrom === b.url)).toBe(true);
  expect(result.stderr).toMatch(new RegExp(`^lmc: cannot reach LM Studio at ${b.url} .*; that host is taken out of the rotation$`, "m"));
  expect(summaryOf(result).failedHosts).toEqual([{ host: b.url, error: expect.stringMatching(/^cannot reach/) }]);
});

it("does the same for a host that dies mid-stream", async () => {
  b.setFault({ type: "dieMidStream", afterFragments: 2 });
  const result = await batch();
  expect(result.code).toBe(0);
  const out = records(result);
  expect(out.map((r) => r.index)).toEqual([...Array(12).keys()]);
  expect(out.every((r) => r.host === a.url)).toBe(true);
  expect(out.filter((r) => r.retriedFrom === b.url).length).toBeGreaterThan(0);
  expect(summaryOf(result).failedHosts).toEqual([{ host: b.url, error: expect.stringMatching(/was lost mid-stream/) }]);
});

it("ends with exit 3 when no host is left", async () => {
  a.setFault({ type: "refuse" });
  b.setFault({ type: "refuse" });
  const result = await batch();
  expect(result.code).toBe(3);
  expect(result.stderr).toMatch(/^lmc: no LM Studio host is left to serve/m);
});

it("refuses several hosts outside batch mode", async () => {
  const result = await runLmc(["--host", a.url, "--host", b.url, "hi"]);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/several LM Studio hosts need batch mode/);
});

it("takes several hosts from LMC_HOST, separated by commas", async () => {
  const result = await runLmc(["-n", "2", "--each"], { input: "a\nb\nc\nd\n", env: { LMC_HOST: `${a.url},${b.url}` } });
  expect(result.code).toBe(0);
  expect(new Set(records(result).map((r) => r.host))).toEqual(new Set([a.url, b.url]));
});

it("takes a host that accepts the connection and then says nothing out of the rotation (--idle-timeout)", async () => {
  b.setFault({ type: "hang" });
  const result = await runLmc([...batchArgs(), "--idle-timeout", "1"], { input });
  expect(result.code).toBe(0);
  const out = records(result);
  expect(out.map((r) => r.index)).toEqual([...Array(12).keys()]);
  expect(out.every((r) => r.host === a.url && typeof r.completion === "string")).toBe(true);
  expect(out.some((r) => r.retriedFrom === b.url)).toBe(true);
  expect(result.stderr).toMatch(
    new RegExp(`^lmc: LM Studio at ${b.url} did not answer for 1 s \\(--idle-timeout\\); that host is taken out of the rotation$`, "m"),
  );
  expect(summaryOf(result).failedHosts).toEqual([{ host: b.url, error: expect.stringMatching(/did not answer/) }]);
});

it("ends the batch with exit 3 when its only host falls silent (LMC_IDLE_TIMEOUT)", async () => {
  a.setFault({ type: "hang" });
  const result = await runLmc(["--host", a.url, "--each"], { input: "a\nb\n", env: { LMC_IDLE_TIMEOUT: "1" } });
  expect(result.code).toBe(3);
  expect(result.stdout.length).toBe(0);
  expect(result.stderr).toBe(`lmc: LM Studio at ${a.url} did not answer for 1 s (--idle-timeout)\n`);
});

it.each<[string, Fault, string[]]>([
  ["fails every prediction", { type: "predictionError", title: "The model crashed" }, ["-m", "lmc-tiny"]],
  ["has no model loaded", { type: "nothingLoaded" }, []],
])("takes a host that %s out after 3 failed items in a row, and retries its items elsewhere", async (_, fault, model) => {
  b.setFault(fault);
  const result = await runLmc(["--host", a.url, "--host", b.url, ...model, "-t", "0", "-n", "6", "--each", "-P", "2"], { input });
  expect(result.code).toBe(0);
  const out = records(result);
  expect(out.map((r) => r.index)).toEqual([...Array(12).keys()]);
  expect(out.every((r) => r.host === a.url && typeof r.completion === "string")).toBe(true);
  const takenOut = result.stderr.split("\n").filter((line) => line.includes("taken out of the rotation"));
  expect(takenOut).toEqual([
    expect.stringMatching(new RegExp(`^lmc: 3 items in a row failed there, the last with: .+; that host is taken out of the rotation$`)),
  ]);
  expect(summaryOf(result).failedHosts).toEqual([{ host: b.url, error: expect.stringMatching(/^3 items in a row failed there/) }]);
});

it("with one host, keeps failed predictions as the items' errors", async () => {
  a.setFault({ type: "predictionError", title: "The model crashed" });
  const result = await runLmc(["--host", a.url, "--each"], { input: "a\nb\nc\nd\n" });
  expect(result.code).toBe(1);
  expect(records(result).map((r) => r.error)).toEqual(Array(4).fill("the prediction failed: The model crashed"));
  expect(result.stderr).not.toMatch(/taken out/);
});

it("counts a host given twice, in any spelling, once", async () => {
  const port = new URL(a.url).port;
  const result = await runLmc(["--host", a.url, "--host", `127.0.0.1:${port}`, "--host", `http://127.0.0.1:${port}`, "-n", "3", "My name is"]);
  expect(result.code).toBe(0);
  expect(result.text.length).toBeGreaterThan(0);
});

// RFC 6761: a name under .invalid never resolves; this machine's resolver says so at once.
const unresolved = (name: string) => `cannot resolve host ${name} (ENOTFOUND: no such name): check the name given to --host or LMC_HOST`;

it("says a host name that does not resolve cannot be resolved, with exit 3, not to start LM Studio", async () => {
  const result = await runLmc(["--host", "lm-studio.invalid", "hi"]);
  expect(result.code).toBe(3);
  expect(result.stdout.length).toBe(0);
  expect(result.stderr).toBe(`lmc: ${unresolved("lm-studio.invalid")}\n`);
});

it("goes to LM Studio's port 1234 for a host given without one", async () => {
  const result = await runLmc(["--verbose", "hi"], { env: { LMC_HOST: "lm-studio.invalid" } });
  expect(result.code).toBe(3);
  expect(result.stderr).toMatch(/^lmc: using LM Studio at ws:\/\/lm-studio\.invalid:1234$/m);
});

it("takes a host name that does not resolve out of the rotation, saying so", async () => {
  const result = await runLmc(["--host", a.url, "--host", "lm-studio.invalid", "-m", "lmc-tiny", "-t", "0", "-n", "4", "--each", "-P", "2"], { input });
  expect(result.code).toBe(0);
  const out = records(result);
  expect(out.map((r) => r.index)).toEqual([...Array(12).keys()]);
  expect(out.every((r) => r.host === a.url && typeof r.completion === "string")).toBe(true);
  expect(result.stderr.split("\n")).toContain(`lmc: ${unresolved("lm-studio.invalid")}; that host is taken out of the rotation`);
  expect(summaryOf(result).failedHosts).toEqual([{ host: "ws://lm-studio.invalid:1234", error: unresolved("lm-studio.invalid") }]);
});

it("--timeout counts per item in batch mode: an item that runs out fails, the others go on", async () => {
  const twoTokens = (await runLmc(["--host", a.url, "-t", "0", "-n", "2", "My name is"])).text;
  expect(twoTokens).not.toBe("");
  a.setFault({ type: "slow", delayMs: 100 });
  const prompts = [2, 100, 2].map((n) => JSON.stringify({ prompt: "My name is", maxTokens: n })).join("\n");
  const result = await runLmc(["--host", a.url, "-t", "0", "--each-jsonl", "-P", "1", "--timeout", "1.5"], { input: prompts });
  expect(result.code).toBe(1);
  const [first, second, third] = records(result);
  expect(first).toMatchObject({ index: 0, completion: twoTokens });
  // What came before the deadline stays in the record, as a single run's stdout keeps it.
  expect(second).toEqual({ index: 1, error: "the deadline of 1.5 s (--timeout) passed mid-completion", status: 124, completion: expect.stringMatching(/./) });
  expect(third).toMatchObject({ index: 2, completion: twoTokens });
});

it("no MaxListenersExceededWarning with -P above 10", async () => {
  const result = await runLmc(["-n", "2", "--each", "-P", "12"], { input: "a\nb\n", env: { LMC_HOST: a.url } });
  expect(result.code).toBe(0);
  expect(result.stderr).not.toMatch(/MaxListeners/);
});

it("an item that runs out of --timeout while the model loads leaves the load to the items still waiting on it", async () => {
  // Item 0 starts the load and gives up after 4 s; item 1, which came 3 s later and has
  // until 7 s, waits on the same load, which the test lets finish once item 0's record is
  // out. Item 1 must get its completion, not item 0's timeout: the load goes on for it.
  let finishLoad = () => {};
  const slowDisk = await startTestServer({ quiet: true, loadGate: new Promise<void>((resolve) => (finishLoad = resolve)) });
  try {
    const result = await runLmc(["--host", slowDisk.url, "-m", "lmc-tiny-unloaded", "-t", "0", "-n", "2", "--each", "-P", "2", "--timeout", "4"], {
      stdin: "open",
      onSpawn: (child) => {
        child.stdin!.write("My name is\n");
        setTimeout(() => child.stdin!.end("Once upon a time\n"), 3000);
        child.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes('"index":0') && finishLoad());
      },
    });
    const [first, second] = records(result);
    expect(first).toEqual({ index: 0, error: "no answer within 4 s (--timeout)", status: 124 });
    expect(second).toMatchObject({ index: 1, completion: expect.any(String) });
    expect(result.code).toBe(1);
  } finally {
    finishLoad();
    await slowDisk.close();
  }
});

it("Ctrl-C while every item waits on the one model load cancels that load on the server", async () => {
  const slowDisk = await startTestServer({ quiet: true, loadDelayMs: 3000 });
  const loads = () => slowDisk.received.filter((request) => request.channel === "getOrLoad");
  try {
    const items = Array.from({ length: 8 }, (_, i) => `item ${i}\n`).join("");
    const result = await runLmc(["--host", slowDisk.url, "-m", "lmc-tiny-unloaded", "-n", "2", "--each", "-P", "4"], {
      input: items,
      onSpawn: (child) => {
        const waitForLoad = setInterval(() => {
          if (loads().length === 0) return;
          clearInterval(waitForLoad);
          setTimeout(() => child.kill("SIGINT"), 300);
        }, 20);
      },
    });
    expect(result.code).toBe(130);
    // The cancel may trail lmc's exit a little.
    await vi.waitFor(() => expect(loads().map((load) => load.cancelled)).toEqual([true]), { timeout: 5000 });
  } finally {
    await slowDisk.close();
  }
});
