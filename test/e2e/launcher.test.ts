// The launcher (src/launch.ts) runs the bundle with the code cache recorded at build
// time, and runs it just the same when there is no usable cache.

import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE, CODE_CACHE, cacheKeyOf } from "../../src/code-cache.js";
import { startTestServer, type TestServer } from "../server/server.js";
import { cleanEnv, runLmc } from "./lmc-process.js";

const run = promisify(execFile);
let server: TestServer;
let dir: string;

beforeAll(async () => {
  [server, dir] = await Promise.all([startTestServer({ quiet: true }), mkdtemp(join(tmpdir(), "lmc-launcher-"))]);
});

afterAll(async () => {
  await Promise.all([server?.close(), rm(dir, { recursive: true, force: true })]);
});

/** dist/ copied to a folder of its own, with `cache` as the code cache file (none when undefined). */
async function installWith(name: string, cache: Buffer | undefined): Promise<string> {
  const root = join(dir, name);
  await mkdir(root);
  await copyFile("dist/lmc.cjs", join(root, "lmc.cjs"));
  await copyFile(`dist/${BUNDLE}`, join(root, BUNDLE));
  if (cache !== undefined) await writeFile(join(root, CODE_CACHE), cache);
  return join(root, "lmc.cjs");
}

async function complete(bin: string) {
  return run(process.execPath, [bin, "--host", server.url, "-n", "5", "-t", "0", "My name is"], {
    env: { ...cleanEnv(), NODE_DEBUG: "lmc" },
  });
}

describe("the launcher", () => {
  it("uses the code cache made by the build", async () => {
    const result = await runLmc(["--host", server.url, "-n", "5", "-t", "0", "My name is"], { env: { NODE_DEBUG: "lmc" } });
    expect(result.code).toBe(0);
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.stderr).toMatch(/^LMC \d+: code cache used$/m);
  });

  it("finds the bundle and its cache through a symlink, as npm link and npm install -g make", async () => {
    const link = join(dir, "lmc");
    await symlink(resolve("dist/lmc.cjs"), link);
    const { stdout, stderr } = await run(link, ["--version"], { env: { ...cleanEnv(), NODE_DEBUG: "lmc" } });
    expect(stdout).toMatch(/^lmc \d+\.\d+\.\d+\n$/);
    expect(stderr).toMatch(/code cache used/);
  });

  it("completes the same without a cache, with a corrupt one and with one for another bundle", async () => {
    const key = cacheKeyOf(await readFile(`dist/${BUNDLE}`, "utf8"))!;
    const good = await readFile(`dist/${CODE_CACHE}`);
    const corrupt = Buffer.concat([Buffer.from(`${key}\n`), Buffer.alloc(good.length, 7)]);
    const stale = Buffer.concat([Buffer.from(`${"0".repeat(key.length)}\n`), good.subarray(key.length + 1)]);
    const [reference, none, rejected, other] = await Promise.all([
      complete(resolve("dist/lmc.cjs")),
      installWith("none", undefined).then(complete),
      installWith("corrupt", corrupt).then(complete),
      installWith("stale", stale).then(complete),
    ]);
    expect(reference.stderr).toMatch(/code cache used/);
    expect(none.stderr).toMatch(/no code cache for this bundle/);
    expect(rejected.stderr).toMatch(/code cache rejected by V8/);
    expect(other.stderr).toMatch(/no code cache for this bundle/);
    for (const result of [none, rejected, other]) expect(result.stdout).toBe(reference.stdout);
  });
});
