// What a run that needs little pays little for: --version and --help load none of
// the Node modules the build defers to their first use, and create no stderr stream.
// The time itself is for the benchmarks; this checks the causes.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { tempDir } from "../temp-dir.js";
import { runLmc } from "./lmc-process.js";

/**
 * A preload that reports, at exit and straight to fd 2, the deferred modules the run loaded
 * and whether stderr was made. Modules already loaded when it runs are not the run's: the
 * single executable starts from a snapshot that holds some of them, loaded at build time.
 */
function trap(): string {
  const file = join(tempDir("start-up-trap"), "trap.cjs");
  writeFileSync(
    file,
    `const fs = require("node:fs");
    const before = new Set(process.moduleLoadList);
    let stderrMade = false;
    const own = Object.getOwnPropertyDescriptor(process, "stderr");
    Object.defineProperty(process, "stderr", { configurable: true, get() { stderrMade = true; return own.get.call(process); } });
    process.on("exit", () => {
      const deferred = ["crypto", "v8", "fs/promises"].filter((name) => process.moduleLoadList.includes("NativeModule " + name) && !before.has("NativeModule " + name));
      fs.writeSync(2, JSON.stringify({ deferred, stderrMade }) + "\\n");
    });`,
  );
  return file;
}

it.each([["--version"], ["--help"]])("%s loads no deferred module and makes no stderr", async (flag) => {
  const result = await runLmc([flag], { env: { NODE_OPTIONS: `--require ${trap()}` } });
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stderr)).toEqual({ deferred: [], stderrMade: false });
});
