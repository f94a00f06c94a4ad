// What a run that needs little pays little for: --version and --help load none of
// the Node modules the build defers to their first use, and make no stream of stdout
// or stderr (which would load Node's stream and net modules). The time itself is for
// the benchmarks; this checks the causes.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { tempDir } from "../temp-dir.js";
import { runLmc } from "./lmc-process.js";

/** A preload that reports, at exit and straight to fd 2, the deferred modules loaded and which streams were made. */
function trap(): string {
  const file = join(tempDir("start-up-trap"), "trap.cjs");
  writeFileSync(
    file,
    `const fs = require("node:fs");
    const made = [];
    for (const name of ["stdout", "stderr"]) {
      const own = Object.getOwnPropertyDescriptor(process, name);
      Object.defineProperty(process, name, { configurable: true, get() { made.push(name); return own.get.call(process); } });
    }
    process.on("exit", () => {
      const deferred = ["crypto", "v8", "fs/promises", "stream/consumers", "stream", "net"].filter((name) => process.moduleLoadList.includes("NativeModule " + name));
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

// What `lmc --version | true` always did: the write fails with EPIPE on stdout's
// stream, as Node reports an unhandled stream error (status 1), not a silent success.
it("--version into a pipe whose reader is gone fails as stdout's stream does", async () => {
  const result = await runLmc(["--version"], { onSpawn: (child) => child.stdout!.destroy() });
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/EPIPE/);
});
