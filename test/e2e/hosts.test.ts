// Batch mode over several LM Studio servers, and what happens when one fails.

import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { runLmc, type LmcResult } from "./lmc-process.js";

let a: TestServer;
let b: TestServer;
beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer({ quiet: true }), startTestServer({ quiet: true })]);
});
afterEach(() => [a, b].forEach((server) => server.setFault({ type: "none" })));
afterAll(() => Promise.all([a?.close(), b?.close()]));

const records = (result: LmcResult) => result.text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
const summaryOf = (result: LmcResult) => JSON.parse(result.stderr.trim().split("\n").at(-1)!);
const input = Array.from({ length: 12 }, (_, i) => `My name is ${i}`).join("\n") + "\n";
const batch = () => runLmc(["--host", a.url, "--host", b.url, "-m", "lmc-tiny", "-t", "0", "-n", "6", "--each", "-P", "2"], { input });

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
  expect(out.every((r) => r.host === a.url && r.completion !== undefined)).toBe(true);
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
