// The win-x64 single executable (npm run package -- --target win-x64) run under Wine
// (Debian's wine64) as a Windows user runs it, through cmd: it completes as the Linux
// build does, from words, a redirected file, a pipe and --each, and writes -o files on
// C:. Where Wine hands it a Unix pipe or file directly, it says so in words.
// Skipped, with a line saying why, where Wine is absent or the build cannot be made
// (its Node for Windows comes from the npm registry, once, then from build/).

import { execFile, spawn, type StdioOptions } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packageExecutable } from "../../scripts/package.js";
import { startTestServer, type TestServer } from "../server/server.js";
import { cleanEnv, runLmc } from "./lmc-process.js";

const run = promisify(execFile);

// Debian puts no wine64 on PATH: the 64-bit loader is in its library folder.
const wine = ["/usr/lib/wine/wine64", "/usr/bin/wine64"].find((path) => existsSync(path));
const wineserver = ["/usr/lib/wine/wineserver64", "/usr/lib/wine/wineserver", "/usr/bin/wineserver"].find((path) => existsSync(path));

async function buildForWindows(): Promise<string | Error> {
  return packageExecutable({ target: "win-x64", reuseIfFresh: true }).then(
    (result) => resolve(result.path),
    (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
  );
}
const built = wine === undefined ? undefined : await buildForWindows();
const skipReason =
  wine === undefined
    ? "Wine (Debian's wine64) is not installed"
    : built instanceof Error
      ? `the win-x64 build cannot be made here (${built.message.split("\n")[0]})`
      : undefined;
// Said out loud when skipped, so that a green run does not hide it.
if (skipReason !== undefined) console.warn(`skipped: the Windows build's tests, because ${skipReason}`);

/** A Unix path as Windows programs under Wine name it: the Unix root is drive Z:. */
const windowsPath = (path: string) => `Z:${path.replaceAll("/", "\\")}`;

describe.skipIf(skipReason !== undefined)("dist/lmc-win-x64.exe under Wine", () => {
  let server: TestServer;
  let prefix: string; // the throw-away Wine prefix: C: is its drive_c
  let files: string; // inputs and captured outputs, on Z:
  let exe: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    exe = windowsPath(built as string);
    prefix = mkdtempSync(join(tmpdir(), "lmc-wine-prefix-"));
    files = mkdtempSync(join(tmpdir(), "lmc-wine-files-"));
    env = { ...(cleanEnv() as NodeJS.ProcessEnv), WINEPREFIX: prefix, WINEDEBUG: "-all" };
    writeFileSync(join(files, "prompt.txt"), "My name is\n");
    writeFileSync(join(files, "items.txt"), "My name is\nThe town\n");
    // Node refuses Wine's default Windows 7; the prefix is made by this first start.
    const [started] = await Promise.all([startTestServer({ quiet: true }), run(wine!, ["winecfg", "/v", "win10"], { env })]);
    server = started;
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    // Wine's server lingers a few seconds after its last program: end it before removing its prefix.
    if (wineserver !== undefined && prefix !== undefined) await run(wineserver, ["-k"], { env }).catch(() => undefined);
    for (const dir of [prefix, files]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  /** Runs `words` under Wine with stdin empty and stdout and stderr in Unix files, as Wine needs. */
  async function underWine(words: string[], stdio: { stdin?: "pipe"; stdout?: "pipe"; stderr?: "pipe"; input?: string } = {}) {
    const out = join(files, "stdout");
    const err = join(files, "stderr");
    const [outFd, errFd] = [openSync(out, "w"), openSync(err, "w")];
    try {
      const io: StdioOptions = [stdio.stdin ?? "ignore", stdio.stdout ?? outFd, stdio.stderr ?? errFd];
      const child = spawn(wine!, words, { env, stdio: io });
      let piped = "";
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (piped += chunk));
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (piped += chunk));
      child.stdin?.on("error", () => {});
      child.stdin?.end(stdio.input ?? "");
      const [code] = (await once(child, "close")) as [number | null];
      return { code, stdout: stdio.stdout ? piped : readFileSync(out, "utf8"), stderr: stdio.stderr ? piped : readFileSync(err, "utf8") };
    } finally {
      closeSync(outFd);
      closeSync(errFd);
    }
  }

  /** `line` run by cmd /c: its redirections and pipes are made inside Windows. */
  const cmd = (...line: string[]) => underWine(["cmd", "/c", ...line]);
  const lmcArgs = () => ["--host", server.url, "-n", "8", "-t", "0"];

  /** What the Linux build (the npm package's bin) prints for the same request. */
  async function onLinux(args: string[], input?: string) {
    const result = await runLmc(args, { input });
    expect(result.code).toBe(0);
    return result.text;
  }

  function expectStatsLine(stderr: string) {
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(JSON.parse(stderr).predictedTokensCount).toBeGreaterThan(0);
  }

  /** Batch records without their timings, which differ from run to run. */
  const records = (jsonl: string) =>
    jsonl
      .trim()
      .split("\n")
      .map((line) => {
        const { index, completion, stats } = JSON.parse(line);
        return { index, completion, stopReason: stats.stopReason, predictedTokensCount: stats.predictedTokensCount };
      });

  it.each([["--version"], ["--help"]])(
    "%s prints what the Linux build prints",
    async (flag) => {
      const result = await cmd(exe, flag);
      expect(result).toMatchObject({ code: 0, stderr: "" });
      expect(result.stdout).toBe(await onLinux([flag]));
    },
    60_000,
  );

  it("completes a prompt from words", async () => {
    const result = await cmd(exe, ...lmcArgs(), "My name is");
    expect(result.code).toBe(0);
    expectStatsLine(result.stderr);
    expect(result.stdout).toBe(await onLinux([...lmcArgs(), "My name is"]));
    expect(result.stdout.length).toBeGreaterThan(0);
  }, 60_000);

  it("completes a prompt from a redirected file and from a type | pipe", async () => {
    const linux = await onLinux(lmcArgs(), "My name is\n");
    const prompt = windowsPath(join(files, "prompt.txt"));
    for (const result of [await cmd(exe, ...lmcArgs(), "<", prompt), await cmd("type", prompt, "|", exe, ...lmcArgs())]) {
      expect(result.code).toBe(0);
      expectStatsLine(result.stderr);
      expect(result.stdout).toBe(linux);
    }
  }, 60_000);

  it("runs --each, to stdout and with -o to a file on C:", async () => {
    const args = ["--host", server.url, "-n", "4", "-t", "0", "--each"];
    const linux = records(await onLinux(args, "My name is\nThe town\n"));
    const items = windowsPath(join(files, "items.txt"));

    const toStdout = await cmd(exe, ...args, "<", items);
    expect(toStdout.code).toBe(0);
    expect(records(toStdout.stdout)).toEqual(linux);
    expect(JSON.parse(toStdout.stderr)).toMatchObject({ items: 2, failures: 0 });

    // A new file, then the same one replaced.
    for (const _ of ["new", "replaced"]) {
      const toFile = await cmd(exe, ...args, "-o", "C:\\each.jsonl", "<", items);
      expect(toFile).toMatchObject({ code: 0, stdout: "" });
      expect(JSON.parse(toFile.stderr)).toMatchObject({ items: 2, failures: 0 });
      expect(records(readFileSync(join(prefix, "drive_c", "each.jsonl"), "utf8"))).toEqual(linux);
    }
  }, 60_000);

  it("says in words that it cannot use a Unix pipe Wine hands over as stdin, stdout or stderr", async () => {
    const words = [exe, ...lmcArgs()];
    const stdin = await underWine([...words], { stdin: "pipe", input: "My name is\n" });
    expect(stdin).toEqual({ code: 1, stdout: "", stderr: "lmc: cannot read stdin: bad file descriptor\n" });
    const stdout = await underWine([...words, "My name is"], { stdout: "pipe" });
    expect(stdout).toEqual({ code: 1, stdout: "", stderr: "lmc: cannot write stdout: bad file descriptor\n" });
    const stderr = await underWine([...words, "My name is"], { stderr: "pipe" });
    expect(stderr).toEqual({ code: 1, stdout: "", stderr: "lmc: cannot write stderr: bad file descriptor\n" });
  }, 60_000);
});
