// lmc --completion SHELL, as a user installs it: the built lmc prints the script, bash loads it.

import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { cleanEnv, runLmc, lmcBin } from "./lmc-process.js";

it("prints a bash script that completes lmc's options", async () => {
  const result = await runLmc(["--completion", "bash"]);
  expect(result.code).toBe(0);
  expect(result.stderr).toBe("");
  const run = lmcBin.endsWith(".cjs") ? `${process.execPath} ${lmcBin}` : lmcBin;
  const offered = execFileSync(
    "bash",
    [
      "-c",
      `
    source <(${run} --completion bash)
    COMP_WORDS=(lmc --max-t); COMP_CWORD=1; COMP_LINE="lmc --max-t"; COMP_POINT=\${#COMP_LINE}
    $(complete -p lmc | sed -E 's/.* -F ([^ ]+) .*/\\1/') lmc --max-t lmc
    printf '%s\\n' "\${COMPREPLY[@]}"
  `,
    ],
    { encoding: "utf8" },
  );
  expect(offered.trim().split("\n")).toEqual(["--max-tokens"]);
});

it.each(["zsh", "fish"])("prints a %s script", async (shell) => {
  const result = await runLmc(["--completion", shell]);
  expect(result.code).toBe(0);
  expect(result.text).toContain("--max-tokens");
});

it("refuses another shell with exit 2", async () => {
  const result = await runLmc(["--completion", "tcsh"]);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/^lmc: --completion takes bash, zsh, fish, not "tcsh"/);
});

/** Whether running the command fails (a missing shell). */
function execFileSyncSafe(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore" });
    return false;
  } catch {
    return true;
  }
}

describe("lmc -m <TAB>, in a real shell", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ quiet: true });
  });
  afterAll(() => server?.close());

  /**
   * Completes the line in bash, with the built lmc on the PATH as `lmc`. Asynchronously:
   * the server runs in this process and must answer while bash waits.
   */
  async function complete(line: string[], env: Record<string, string> = {}) {
    const bin = join(tempDir("completion-path"), "bin");
    mkdirSync(bin);
    const run = lmcBin.endsWith(".cjs") ? `"${process.execPath}" "${lmcBin}"` : `"${lmcBin}"`;
    writeFileSync(join(bin, "lmc"), `#!/bin/sh\nexec ${run} "$@"\n`, { mode: 0o755 });
    const driver = `source <(lmc --completion bash)
      COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=\${#COMP_LINE}
      _lmc; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const started = Date.now();
    const result = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) =>
      execFile(
        "bash",
        ["--norc", "--noprofile", "-c", driver, "bash", ...line],
        { env: { ...cleanEnv(), PATH: `${bin}:${process.env.PATH}`, ...env } },
        (error, stdout, stderr) => (error ? reject(error) : resolve({ stdout, stderr })),
      ),
    );
    return { offered: result.stdout.split("\n").filter(Boolean), stderr: result.stderr, elapsedMs: Date.now() - started };
  }

  it("offers the model keys the server has (LMC_HOST)", async () => {
    const { offered, stderr } = await complete(["lmc", "-m", ""], { LMC_HOST: server.url });
    expect(stderr).toBe("");
    expect(offered).toEqual(["lmc-tiny", "lmc-tiny-unloaded"]);
    expect((await complete(["lmc", "--draft-model", "lmc-tiny-u"], { LMC_HOST: server.url })).offered).toEqual(["lmc-tiny-unloaded"]);
  });

  // .ci/run installs fish; elsewhere a missing fish skips this.
  const hasFish = !execFileSyncSafe("fish", ["--version"]);
  it.skipIf(!hasFish && !process.env.CI)("in fish too: the model keys, and file names for prompt words", async () => {
    const dir = tempDir("completion-fish");
    writeFileSync(join(dir, "report.txt"), "");
    const bin = join(dir, "bin");
    mkdirSync(bin);
    const run = lmcBin.endsWith(".cjs") ? `"${process.execPath}" "${lmcBin}"` : `"${lmcBin}"`;
    writeFileSync(join(bin, "lmc"), `#!/bin/sh\nexec ${run} "$@"\n`, { mode: 0o755 });
    const script = 'lmc --completion fish | source; complete -C "lmc -m "; echo ---; complete -C "lmc rep"';
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        "fish",
        ["--no-config", "-c", script],
        {
          cwd: dir,
          env: { ...cleanEnv(), PATH: `${bin}:${process.env.PATH}`, LMC_HOST: server.url },
        },
        (error, out) => (error ? reject(error) : resolve(out)),
      ),
    );
    const [models, files] = stdout.split("---\n");
    expect(
      models!
        .split("\n")
        .filter(Boolean)
        .map((line) => line.split("\t")[0]),
    ).toEqual(["lmc-tiny", "lmc-tiny-unloaded"]);
    expect(files!.trim()).toBe("report.txt");
  });

  it("asks the server given with --host on the line", async () => {
    const { offered } = await complete(["lmc", "--host", server.url, "-n", "5", "--model", "lmc"]);
    expect(offered).toEqual(["lmc-tiny", "lmc-tiny-unloaded"]);
  });

  it("offers nothing, says nothing and does not hang when LM Studio is not running", async () => {
    const hanging = await startTestServer({ quiet: true, fault: { type: "hang" } });
    try {
      // Nothing listening, and a server that accepts but never answers (the timeout ends it).
      for (const host of ["ws://127.0.0.1:9", hanging.url]) {
        const { offered, stderr, elapsedMs } = await complete(["lmc", "-m", ""], { LMC_HOST: host });
        expect(offered).toEqual([]);
        expect(stderr).toBe("");
        expect(elapsedMs).toBeLessThan(10_000);
      }
    } finally {
      await hanging.close();
    }
  });
});
