// The launcher (src/startup/launch.ts) runs the bundle with the code cache recorded at build
// time, and runs it just the same when there is no usable cache.

import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLE, CODE_CACHE, cacheKeyOf, packCache, unpackCache } from "../../src/startup/code-cache.js";
import { startTestServer, type TestServer } from "../server/server.js";
import { cleanEnv } from "./lmc-process.js";

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
async function installWith(name: string, cache: Buffer | "a directory" | "a FIFO" | "a link to /dev/zero" | undefined): Promise<string> {
  const root = join(dir, name);
  await mkdir(root);
  await copyFile("dist/lmc.cjs", join(root, "lmc.cjs"));
  await copyFile(`dist/${BUNDLE}`, join(root, BUNDLE));
  if (cache === "a directory") await mkdir(join(root, CODE_CACHE));
  else if (cache === "a FIFO") await run("mkfifo", [join(root, CODE_CACHE)]);
  else if (cache === "a link to /dev/zero") await symlink("/dev/zero", join(root, CODE_CACHE));
  else if (cache !== undefined) await writeFile(join(root, CODE_CACHE), cache);
  return join(root, "lmc.cjs");
}

/** The npm package's bin, whichever build the other end-to-end tests run (LMC_BIN). */
async function runBin(args: string[]) {
  return run(process.execPath, [resolve("dist/lmc.cjs"), ...args], { env: { ...cleanEnv(), NODE_DEBUG: "lmc" } });
}

async function complete(bin: string) {
  // Without the user's cache, which would stand in for a shipped cache that does not fit.
  return run(process.execPath, [bin, "--host", server.url, "-n", "5", "-t", "0", "My name is"], {
    env: { ...cleanEnv(), NODE_DEBUG: "lmc", LMC_NO_CACHE: "1" },
  });
}

describe("the launcher", () => {
  it("uses the code cache made by the build", async () => {
    const result = await runBin(["--host", server.url, "-n", "5", "-t", "0", "My name is"]);
    expect(result.stdout.length).toBeGreaterThan(0);
    expect(result.stderr).toMatch(/^LMC \d+: code cache used$/m);
  });

  it("prints the timeline of a completion with NODE_DEBUG=lmc, step by step, in order", async () => {
    const result = await runBin(["--host", server.url, "-n", "5", "-t", "0", "My name is"]);
    const steps = [...result.stderr.matchAll(/^LMC \d+: \+([\d.]+) ms (.+)$/gm)].map((m) => ({ at: Number(m[1]), step: m[2] }));
    expect(steps.map((s) => s.step)).toEqual(["bundle compiled", "SDK loaded", "client constructed", "model found", "first fragment", "done", "exit"]);
    const times = steps.map((s) => s.at);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // Without NODE_DEBUG, none of it.
    const quiet = await run(process.execPath, [resolve("dist/lmc.cjs"), "--host", server.url, "-n", "5", "-t", "0", "My name is"], { env: cleanEnv() });
    expect(quiet.stderr).not.toMatch(/^LMC /m);
  });

  it("finds the bundle and its cache through a symlink, as npm link and npm install -g make", async () => {
    const link = join(dir, "lmc");
    await symlink(resolve("dist/lmc.cjs"), link);
    const { stdout, stderr } = await run(link, ["--version"], { env: { ...cleanEnv(), NODE_DEBUG: "lmc" } });
    expect(stdout).toMatch(/^lmc \d+\.\d+\.\d+\n$/);
    expect(stderr).toMatch(/code cache used/);
  });

  it("completes the same without a cache, with a corrupt or unreadable one and with one for another bundle or V8", async () => {
    const key = cacheKeyOf(await readFile(`dist/${BUNDLE}`))!;
    const records = unpackCache(await readFile(`dist/${CODE_CACHE}`));
    expect(records.map((record) => record.part)).toEqual(["lmc", "@lmstudio/sdk"]);
    const identity = records[0]!.identity;
    expect(identity).toMatchObject({ bundle: key, v8: process.versions.v8 });
    const corrupt = packCache(
      records.map((record) => ({ ...record, data: Buffer.alloc(record.data.length, 7) })),
      identity,
    );
    const stale = packCache(records, { ...identity, bundle: "0".repeat(key.length) });
    const otherV8 = packCache(records, { ...identity, v8: "1.2.3.4-node.5" });
    const [reference, none, rejected, other, v8, unreadable] = await Promise.all([
      complete(resolve("dist/lmc.cjs")),
      installWith("none", undefined).then(complete),
      installWith("corrupt", corrupt).then(complete),
      installWith("stale", stale).then(complete),
      installWith("other-v8", otherV8).then(complete),
      installWith("unreadable", "a directory").then(complete),
    ]);
    expect(reference.stderr).toMatch(/code cache used/);
    expect(none.stderr).toMatch(/no code cache for this bundle/);
    expect(rejected.stderr).toMatch(/code cache rejected by V8/);
    expect(other.stderr).toMatch(/no code cache for this bundle/);
    expect(v8.stderr).toMatch(/no code cache for this bundle and V8/);
    expect(unreadable.stderr).toMatch(/no code cache for this bundle/);
    for (const result of [none, rejected, other, v8, unreadable]) expect(result.stdout).toBe(reference.stdout);
  });

  it("neither blocks on nor reads a FIFO or a device in the shipped cache's place, and refuses a damaged one", async () => {
    const records = unpackCache(await readFile(`dist/${CODE_CACHE}`));
    const packed = packCache(records, records[0]!.identity);
    const damaged = Buffer.from(packed);
    damaged[packed.indexOf(10) + 1 + 1000]! ^= 0x10; // a bit of lmc's record, which V8 would otherwise take
    const [reference, fifo, zero, flipped] = await Promise.all([
      complete(resolve("dist/lmc.cjs")),
      installWith("fifo", "a FIFO").then(complete),
      installWith("zero", "a link to /dev/zero").then(complete),
      installWith("damaged", damaged).then(complete),
    ]);
    expect(fifo.stderr).toMatch(/code cache .* not used: it is not a regular file/);
    expect(zero.stderr).toMatch(/code cache .* not used: it is not a regular file/);
    expect(flipped.stderr).toMatch(/code cache shipped in .* not used: it is damaged \(its checksum does not match\): install lmc again/);
    expect(flipped.stderr).toMatch(/code cache used \(@lmstudio\/sdk\)/); // the other record is sound
    for (const result of [fifo, zero, flipped]) expect(result.stdout).toBe(reference.stdout);
  });
});
