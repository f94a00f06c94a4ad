// The single executable (npm run package) does what the bundle it is made of does.
// It is built here unless dist/lmc is already made from this very bundle.

import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostTarget, packageExecutable } from "../../scripts/package.js";
import { startTestServer, type TestServer } from "../server/server.js";
import { cleanEnv } from "./lmc-process.js";

const run = promisify(execFile);
const bundle = resolve("dist/lmc.cjs"); // the npm package's bin
let executable: string;
let snapshot: boolean;
let server: TestServer;

async function both(args: string[]) {
  const options = { env: cleanEnv() };
  const [fromExecutable, fromBundle] = await Promise.all([run(executable, args, options), run(process.execPath, [bundle, ...args], options)]);
  return { fromExecutable, fromBundle };
}

// Said out loud when skipped, so that a green run does not hide it.
if (hostTarget() === undefined) console.warn(`skipped: the single executable's tests, because lmc is not packaged for ${process.platform}-${process.arch}`);
describe.skipIf(hostTarget() === undefined)("dist/lmc, the single executable", () => {
  beforeAll(async () => {
    const [result, started] = await Promise.all([packageExecutable({ reuseIfFresh: true }), startTestServer({ quiet: true })]);
    executable = resolve(result.path);
    snapshot = result.snapshot;
    server = started;
  }, 120_000);

  afterAll(async () => {
    await server?.close();
  });

  it.each([["--version"], ["--help"]])("%s: the same output, and no warning from Node", async (flag) => {
    const { fromExecutable, fromBundle } = await both([flag]);
    expect(fromExecutable.stdout).toBe(fromBundle.stdout);
    expect(fromExecutable.stdout).toMatch(/^lmc \d+\.\d+\.\d+/);
    expect(fromExecutable.stderr).toBe("");
  });

  it("starts from the V8 snapshot of the initialised SDK, or runs with the code cache where Node cannot make one", async () => {
    const args = ["--host", server.url, "-n", "5", "-t", "0", "My name is"];
    const { stderr } = await run(executable, args, { env: { ...cleanEnv(), NODE_DEBUG: "lmc" } });
    const steps = [...stderr.matchAll(/^LMC \d+: \+[\d.]+ ms (.+)$/gm)].map((m) => m[1]);
    // Only Node 22's snapshot builder fails on this heap; elsewhere a build without it is a fault.
    expect(snapshot).toBe(process.versions.node.split(".")[0] !== "22");
    if (!snapshot) {
      expect(stderr).toMatch(/^LMC \d+: code cache used$/m);
      return;
    }
    // From the snapshot: no bundle to compile, and the SDK loaded at once, from the heap.
    expect(steps).toEqual(["snapshot restored", "SDK loaded", "client constructed", "model found", "first fragment", "done", "exit"]);
    expect(stderr).not.toMatch(/code cache/);
  });

  it("completes like the bundle", async () => {
    const { fromExecutable, fromBundle } = await both(["--host", server.url, "-n", "5", "-t", "0", "My name is"]);
    expect(fromExecutable.stdout.length).toBeGreaterThan(0);
    expect(fromExecutable.stdout).toBe(fromBundle.stdout);
    const stats = JSON.parse(fromExecutable.stderr);
    expect(stats.predictedTokensCount).toBeGreaterThan(0);
    expect(stats.predictedTokensCount).toBeLessThanOrEqual(5);
  });
});
