// examples/terminal-sim.sh, driven with scripted input against the test server.

import { spawn } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { closedPort } from "../closed-port.js";
import { startTestServer, type TestServer } from "../server/server.js";
import { cleanEnv, lmcBin } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterAll(() => server?.close());

function terminalSim(input: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn("bash", ["examples/terminal-sim.sh", ...args], { env: { ...cleanEnv(), LMC: lmcBin } });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.end(input);
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

it("keeps the session's history and asks lmc to continue it up to the next $", async () => {
  const before = server.received.length;
  // The tiny model answers "$ ls" greedily with the next "$" at once (an empty reply);
  // this seed makes it list files, so the history visibly grows.
  const { code, stdout, stderr } = await terminalSim("ls\ncat notes.md\n", ["--host", server.url, "-m", "lmc-tiny", "-t", "0.7", "--seed", "4", "-n", "40"]);
  expect(stderr).toBe("");
  expect(code).toBe(0);

  const predictions = server.received.slice(before).filter((request) => request.channel !== "getOrLoad");
  expect(predictions).toHaveLength(2);
  const [first, second] = predictions;
  expect(first!.prompt).toBe("$ ls\n");
  expect(first!.config["llm.prediction.stopStrings"]).toEqual(["$"]);
  const reply = second!.prompt.slice("$ ls\n".length, second!.prompt.lastIndexOf("$ cat notes.md\n"));
  expect(reply.length).toBeGreaterThan(0);
  expect(reply).not.toContain("$");
  expect(second!.prompt).toBe(`$ ls\n${reply}$ cat notes.md\n`);
  expect(stdout.startsWith(`$ ${reply.trimEnd()}\n$ `)).toBe(true);
});

it("stops with lmc's status when lmc fails", async () => {
  const { code, stderr } = await terminalSim("ls\n", ["--host", `ws://127.0.0.1:${await closedPort()}`]);
  expect(code).toBe(3);
  expect(stderr).toMatch(/terminal-sim: lmc failed with status 3/);
});
