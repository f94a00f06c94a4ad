// Spawns the built lmc as a user's shell would, and collects what it did.
// LMC_BIN picks another build of it (the single executable); by default the
// npm package's bin, dist/lmc.cjs, runs under this Node.

import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";

export const lmcBin = process.env.LMC_BIN ? resolve(process.env.LMC_BIN) : resolve("dist/lmc.cjs");

export interface LmcResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  /** stdout as UTF-8 text. */
  text: string;
  elapsedMs: number;
}

export interface LmcOptions {
  /** Written to stdin, which is then closed. */
  input?: string | Buffer;
  /** "open": stdin stays open and silent until lmc exits; a number: this open file; default: closed at once. */
  stdin?: "closed" | "open" | number;
  /** This open file as stdout (then LmcResult.stdout is empty); default: a pipe the test reads. */
  stdout?: number;
  env?: Record<string, string | undefined>;
  /** The working directory (default: the test's). */
  cwd?: string;
  /** In a session of its own, with no controlling terminal, as under cron or `ssh host lmc …`. */
  noTerminal?: boolean;
  /** lmc is killed after this long and the test fails. */
  killAfterMs?: number;
  /** Called once lmc is running, to interact with it. */
  onSpawn?: (child: ChildProcess) => void;
}

/** The words that run lmc: this Node with the npm package's bin, or the single executable alone. */
export function lmcCommand(): string[] {
  return lmcBin.endsWith(".cjs") ? [process.execPath, lmcBin] : [lmcBin];
}

export function spawnLmc(args: string[], options: LmcOptions = {}): ChildProcess {
  const [command, ...argv] = [...lmcCommand(), ...args] as [string, ...string[]];
  return spawn(command, argv, {
    env: { ...cleanEnv(), ...options.env },
    cwd: options.cwd,
    detached: options.noTerminal,
    stdio: [typeof options.stdin === "number" ? options.stdin : "pipe", options.stdout ?? "pipe", "pipe"],
  });
}

export function runLmc(args: string[], options: LmcOptions = {}): Promise<LmcResult> {
  const started = Date.now();
  const child = spawnLmc(args, options);
  const stdout: Buffer[] = [];
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin?.on("error", () => {}); // lmc may rightly exit without reading stdin
  if (options.input !== undefined) child.stdin!.end(options.input);
  else if (options.stdin !== "open") child.stdin?.end();
  options.onSpawn?.(child);
  const killer = setTimeout(() => child.kill("SIGKILL"), options.killAfterMs ?? 20_000);
  return new Promise((resolvePromise) => {
    child.on("close", (code, signal) => {
      clearTimeout(killer);
      child.stdin?.destroy();
      const out = Buffer.concat(stdout);
      resolvePromise({ code, signal, stdout: out, stderr, text: out.toString("utf8"), elapsedMs: Date.now() - started });
    });
  });
}

/** The environment without anything that would change lmc's defaults. */
export function cleanEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1" };
  for (const name of Object.keys(env)) {
    if (name.startsWith("LMC_") || name === "LM_API_TOKEN" || name === "NODE_DEBUG") delete env[name];
  }
  return env;
}

/** The stats line lmc wrote on stderr, parsed; fails when stderr holds anything else. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests read any field of the stats line as what they expect
export function statsOf(result: LmcResult): Record<string, any> {
  const lines = result.stderr.split("\n").filter((line) => line !== "");
  if (lines.length !== 1) throw new Error(`expected exactly one stats line on stderr, got:\n${result.stderr}`);
  return JSON.parse(lines[0]!);
}
