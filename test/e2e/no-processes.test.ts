// lmc never starts a process. The SDK's error formatting used to ask `tput` and `resize`,
// found through PATH (and in the current directory, with an empty PATH entry), how wide
// the terminal is whenever there was none: under cron, CI or `ssh host lmc …`, a planted
// `./resize` ran with the user's rights and environment. Here every such program is a
// trap that leaves a mark, and lmc goes through its error paths with no terminal.

import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closedPort } from "../closed-port.js";
import { startTestServer, type Fault, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { runLmc } from "./lmc-process.js";

/** What terminal-size helpers run (terminal-size, lms-isomorphic's copy of it). */
const TRAPPED = ["tput", "resize", "stty"];

let server: TestServer;
let guarded: TestServer;
beforeAll(async () => {
  [server, guarded] = await Promise.all([
    startTestServer({ quiet: true }),
    startTestServer({ quiet: true, requiredToken: { clientIdentifier: "Ab3dEf7h", clientPasskey: "0123456789abcdefghij" } }),
  ]);
});
afterAll(() => Promise.all([server?.close(), guarded?.close()]));

/** A directory first on PATH and a working directory, each holding a trap for every name in TRAPPED. */
function traps() {
  const root = tempDir("traps");
  const marks = join(root, "marks");
  const onPath = join(root, "bin");
  const cwd = join(root, "cwd");
  for (const dir of [onPath, cwd]) {
    mkdirSync(dir);
    for (const name of TRAPPED) {
      const trap = join(dir, name);
      writeFileSync(trap, `#!/bin/sh\necho "${trap} $*" >> '${marks}'\necho 100\n`);
      chmodSync(trap, 0o755);
    }
  }
  // The empty entry at the end stands for the working directory.
  const env = { PATH: `${onPath}:${process.env.PATH}:`, COLUMNS: undefined, LINES: undefined, LM_API_TOKEN: "sk-lm-Zz9yXw8v:AbCdEfGhIjKlMnOpQrSt" };
  const sprung = () => (existsSync(marks) ? readFileSync(marks, "utf8") : "");
  return { env, cwd, sprung, marks };
}

interface Path {
  name: string;
  args: () => Promise<string[]> | string[];
  status: number;
  env?: () => Promise<Record<string, string>>;
  fault?: Fault;
  input?: string;
}

const paths: Path[] = [
  { name: "0: a completion", args: () => ["--host", server.url, "-n", "3", "My name is"], status: 0 },
  { name: "2: a usage error", args: () => ["--bogus"], status: 2 },
  { name: "3: nothing listens there", args: async () => ["--host", `127.0.0.1:${await closedPort()}`, "hi"], status: 3 },
  { name: "3: no LM Studio on this machine", args: () => ["hi"], env: async () => ({ LMC_LOCAL_PORTS: String(await closedPort()) }), status: 3 },
  { name: "3: the server drops the connection", args: () => ["--host", server.url, "hi"], fault: { type: "refuse" }, status: 3 },
  { name: "4: no such model", args: () => ["--host", server.url, "-m", "no-such-model", "hi"], status: 4 },
  { name: "4: no model loaded", args: () => ["--host", server.url, "hi"], fault: { type: "nothingLoaded" }, status: 4 },
  { name: "1: the prediction fails", args: () => ["--host", server.url, "hi"], fault: { type: "predictionError" }, status: 1 },
  {
    name: "1: the connection is lost mid-stream",
    args: () => ["--host", server.url, "-n", "40", "My name is"],
    fault: { type: "dieMidStream", afterFragments: 2 },
    status: 1,
  },
  { name: "6: the token is refused", args: () => ["--host", guarded.url, "hi"], status: 6 },
  { name: "124: --timeout runs out", args: () => ["--host", server.url, "--timeout", "1", "hi"], fault: { type: "hang" }, status: 124 },
  { name: "3: --list, with no such server", args: async () => ["--host", `127.0.0.1:${await closedPort()}`, "--list"], status: 3 },
  { name: "batch: no such model", args: () => ["--host", server.url, "--each", "-m", "no-such-model"], input: "a\nb\n", status: 1 },
  { name: "batch: every prediction fails", args: () => ["--host", server.url, "--each"], input: "a\nb\n", fault: { type: "predictionError" }, status: 1 },
];

describe("lmc starts no program: tput, resize and stty on PATH and in the working directory never run", () => {
  it("the traps spring when a program is looked up as lmc's SDK looked it up", () => {
    const { env, cwd, sprung } = traps();
    execFileSync("/bin/sh", ["-c", "tput cols; resize -u"], { cwd, env: { ...process.env, ...env, PATH: `/nonexistent:` } });
    expect(sprung()).toMatch(/cwd\/tput cols\n.*cwd\/resize -u\n/);
  });

  it.each(paths)("$name, with no terminal", async (path) => {
    const { env, cwd, sprung } = traps();
    server.setFault(path.fault ?? { type: "none" });
    try {
      const result = await runLmc(await path.args(), { env: { ...env, ...(await path.env?.()) }, cwd, noTerminal: true, input: path.input });
      expect(result.code, result.stderr).toBe(path.status);
      expect(sprung()).toBe("");
    } finally {
      server.setFault({ type: "none" });
    }
  });

  it("the built bundle and its launcher never require child_process", () => {
    for (const file of ["dist/lmc-bundle.cjs", "dist/lmc.cjs"]) {
      expect(readFileSync(resolve(file), "utf8")).not.toMatch(/child_process/);
    }
  });
});
