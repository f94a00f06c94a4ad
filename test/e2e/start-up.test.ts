// What a run that needs little pays little for: --version and --help load none of
// the Node modules the build or the launcher defers to their first use, make no stream
// of stdout or stderr (which would load Node's stream and net modules), and read only
// lmc's part of the bundle and of its cache. The time itself is for the benchmarks;
// this checks the causes.

import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { BUNDLE, CODE_CACHE, partsOf, unpackCache } from "../../src/startup/code-cache.js";
import { tempDir } from "../temp-dir.js";
import { expectOneErrorLine } from "./error-line.js";
import { lmcBin, runLmc } from "./lmc-process.js";

/**
 * A preload that reports, at exit and straight to fd 2, the deferred modules the run loaded
 * and which streams were made. Modules already loaded when it runs are not the run's: the
 * single executable starts from a snapshot that holds some of them, loaded at build time.
 */
function trap(): string {
  const file = join(tempDir("start-up-trap"), "trap.cjs");
  writeFileSync(
    file,
    `const fs = require("node:fs");
    const before = new Set(process.moduleLoadList);
    const made = [];
    for (const name of ["stdout", "stderr"]) {
      const own = Object.getOwnPropertyDescriptor(process, name);
      Object.defineProperty(process, name, { configurable: true, get() { made.push(name); return own.get.call(process); } });
    }
    process.on("exit", () => {
      const deferred = ["crypto", "v8", "fs/promises", "stream/consumers", "stream", "net", "os", "sea"].filter((name) => process.moduleLoadList.includes("NativeModule " + name) && !before.has("NativeModule " + name));
      fs.writeSync(2, JSON.stringify({ deferred, streamsMade: [...new Set(made)] }) + "\\n");
    });`,
  );
  return file;
}

it.each([["--version"], ["--help"], ["--completion", "bash"]])("%s loads no deferred module and makes no stream", async (...args) => {
  const result = await runLmc(args, { env: { NODE_OPTIONS: `--require ${trap()}` } });
  expect(result.code).toBe(0);
  expect(result.text).toMatch(args[0] === "--version" ? /^lmc \d+\.\d+\.\d+\n$/ : /lmc/);
  expect(JSON.parse(result.stderr)).toEqual({ deferred: [], streamsMade: [] });
});

describe.each([["--version"], ["--help"], ["--completion", "bash"]])("%s, written without a stream, fails as a completion's write does", (...args) => {
  it("into a pipe whose reader is gone: exit 141, quietly", async () => {
    const result = await runLmc(args, { onSpawn: (child) => child.stdout!.destroy() });
    expect(result.code).toBe(141);
    expect(result.stderr).toBe("");
  });

  it("onto a full disk (/dev/full): one line and exit 1", async () => {
    const full = openSync("/dev/full", "w");
    try {
      const result = await runLmc(args, { stdout: full });
      expect(result.code).toBe(1);
      expectOneErrorLine(result, /^lmc: cannot write stdout: no space left on device$/);
    } finally {
      closeSync(full);
    }
  });
});

/** A preload that reports, at exit, how many bytes were read from each file by name. */
function readCounter(): string {
  const file = join(tempDir("start-up-reads"), "reads.cjs");
  writeFileSync(
    file,
    `const fs = require("node:fs");
    const names = new Map();
    const read = {};
    const count = (name, n) => { if (name !== undefined) read[name] = (read[name] ?? 0) + n; };
    const { openSync, readSync, readFileSync } = fs;
    fs.openSync = function (path, ...rest) { const fd = openSync.call(this, path, ...rest); names.set(fd, String(path)); return fd; };
    fs.readSync = function (fd, ...rest) { const n = readSync.call(this, fd, ...rest); count(names.get(fd), n); return n; };
    fs.readFileSync = function (path, ...rest) { const data = readFileSync.call(this, path, ...rest); count(typeof path === "string" ? path : undefined, data.length); return data; };
    process.on("exit", () => fs.writeSync(2, JSON.stringify(read) + "\\n"));`,
  );
  return file;
}

it.skipIf(!lmcBin.endsWith(".cjs"))("--version reads lmc's part of the bundle and its cache, not the SDK's", async () => {
  const result = await runLmc(["--version"], { env: { NODE_OPTIONS: `--require ${readCounter()}`, LMC_NO_CACHE: "1" } });
  expect(result.code).toBe(0);
  const read: Record<string, number> = JSON.parse(result.stderr);
  const bundle = resolve("dist", BUNDLE);
  const cache = resolve("dist", CODE_CACHE);
  const sdkPart = partsOf(readFileSync(bundle))!.find((part) => part.name !== "lmc")!;
  const sdkCache = unpackCache(readFileSync(cache)).find((record) => record.part !== "lmc")!;
  expect(read[bundle]).toBeGreaterThan(0);
  // Less than the SDK's part alone: it was not read.
  expect(read[bundle]).toBeLessThan(Buffer.byteLength(sdkPart.source));
  expect(read[cache]).toBeGreaterThan(0);
  expect(read[cache]).toBeLessThan(sdkCache.data.length);
});
