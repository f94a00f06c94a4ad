// npm run bench:cache-checks [-- --node 20,26 --runs N --before REV --label TEXT --discovery]:
// what the code cache's checks cost (src/startup/cache-dir.ts, src/startup/checksum.ts), side by side with
// lmc as it was before them (by default the parent of the commit that added src/startup/checksum.ts);
// with --before REV, what everything since REV costs (--label names the current build's
// column). --discovery adds a completion without --host, the server found through
// LMC_LOCAL_PORTS (discovery, with the check of who owns the socket where lmc has it).
// For each Node it runs, in turn and in alternating order, `node -e 0`, both builds'
// `lmc --version`, the naive SDK script and both builds' short completion. On the
// build's Node the shipped cache is used (its record's checksum is the check); on any
// other the user's own (the directory's walk, the file's checks and the checksum), each
// build with a cache directory of its own, recorded before the rounds start.

import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { startTestServer } from "../test/server/server.js";
import { nodeBinaryFromNpm } from "./package.js";
import { median, benchEnv } from "./bench/measure.js";

const run = promisify(execFile);
const argValue = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const MAJORS = (argValue("--node") ?? process.versions.node.split(".")[0]!).split(",").filter(Boolean);
const RUNS = Number(argValue("--runs") ?? 30);
if (!MAJORS.every((m) => /^\d+$/.test(m))) throw new Error("--node takes major versions: --node 20,26");
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error("--runs takes a whole number of runs, 1 or more");
const LABEL = argValue("--label") ?? "with the checks";
const DISCOVERY = process.argv.includes("--discovery");
const WARMUP = 2;
const PROMPT = "My name is";

let rerun = 0;
/** Runs argv to its exit; returns the wall time in ms. Fails on a non-zero status after `tries` runs. */
async function timeRun(argv: string[], env: NodeJS.ProcessEnv, tries = 1): Promise<number> {
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((done) => child.on("close", done));
  const ms = performance.now() - started;
  if (code !== 0 && tries > 1) return (rerun++, timeRun(argv, env, tries - 1));
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}:\n${stderr}`);
  return ms;
}

/** The commit before the checks: the parent of the one that added src/startup/checksum.ts. */
async function beforeChecks(): Promise<string> {
  const { stdout } = await run("git", ["log", "--follow", "--format=%H", "--diff-filter=A", "-1", "--", "src/startup/checksum.ts"]);
  if (!stdout.trim()) throw new Error("no commit added src/startup/checksum.ts: give --before REV");
  return `${stdout.trim()}^`;
}

/** dist/ of the commit `rev`, built in a folder of its own with this checkout's node_modules. */
async function buildAt(rev: string, work: string): Promise<string> {
  const dir = join(work, "before");
  await mkdir(dir);
  await run("sh", ["-c", `git archive "$1" | tar -x -C "$2"`, "sh", rev, dir]);
  await symlink(resolve("node_modules"), join(dir, "node_modules"));
  await run(process.execPath, [resolve("node_modules/tsx/dist/cli.mjs"), "scripts/build.ts"], { cwd: dir });
  return join(dir, "dist", "lmc.cjs");
}

const work = await mkdtemp(join(tmpdir(), "lmc-bench-cache-checks-"));
const server = await startTestServer({ quiet: true });
try {
  const before = argValue("--before") ?? (await beforeChecks());
  const { stdout: beforeName } = await run("git", ["log", "--format=%h %s", "-1", before]);
  const oldLmc = await buildAt(before, work);
  await import("./build.js");
  const newLmc = resolve("dist/lmc.cjs");
  const out = [
    `Machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "unknown CPU"}), ${process.platform}-${process.arch}, ` +
      `load average ${(await import("node:os")).loadavg()[0]!.toFixed(1)} at the start. NODE_EXTRA_CA_CERTS unset.`,
    `Before: ${beforeName.trim().slice(0, 90)}. Now: ${(await run("git", ["log", "--format=%h %s", "-1"])).stdout.trim().slice(0, 90)}.`,
    `Medians of ${RUNS} rounds after ${WARMUP} warm-up rounds, both builds in alternating order.`,
    "",
    `| Node | cache | measured | baseline ms | before ms | × | ${LABEL} ms | × | after / before |`,
    "|---|---|---|---:|---:|---:|---:|---:|---:|",
  ];
  for (const major of MAJORS) {
    const node =
      process.versions.node.split(".")[0] === major ? process.execPath : await nodeBinaryFromNpm("linux-x64", major, (m) => process.stderr.write(`${m}\n`));
    const { stdout: version } = await run(node, ["--version"]);
    const cache = node === process.execPath ? "shipped" : "user's";
    process.stderr.write(`Node ${version.trim()} `);
    const envs = { old: benchEnv(join(work, `cache-old-${major}`)), new: benchEnv(join(work, `cache-new-${major}`)) };
    const completion = ["--host", server.url, "-n", "5", "-t", "0", PROMPT];
    const found = completion.slice(2);
    const foundEnvs = { old: { ...envs.old, LMC_LOCAL_PORTS: new URL(server.url).port }, new: { ...envs.new, LMC_LOCAL_PORTS: new URL(server.url).port } };
    const lmc = { old: oldLmc, new: newLmc };
    // The user's caches recorded once, by a completion (which compiles the SDK too).
    for (const which of ["old", "new"] as const) await timeRun([node, lmc[which], ...completion], envs[which]);
    const samples: Record<string, number[]> = {};
    const add = (key: string, ms: number) => (samples[key] ??= []).push(ms);
    for (let round = 0; round < WARMUP + RUNS; round++) {
      const keep = round >= WARMUP;
      const order = round % 2 === 0 ? (["old", "new"] as const) : (["new", "old"] as const);
      const e0 = await timeRun([node, "-e", "0"], envs.old);
      const versions: Record<string, number> = {};
      for (const which of order) versions[which] = await timeRun([node, lmc[which], "--version"], envs[which]);
      const naive = await timeRun([node, resolve("scripts/bench/naive-sdk-client.mjs"), server.url, "5", PROMPT], envs.old);
      const completions: Record<string, number> = {};
      for (const which of order) completions[which] = await timeRun([node, lmc[which], ...completion], envs[which]);
      const discovered: Record<string, number> = {};
      if (DISCOVERY) for (const which of order) discovered[which] = await timeRun([node, lmc[which], ...found], foundEnvs[which], 3);
      if (!keep) continue;
      add("e0", e0);
      add("naive", naive);
      for (const which of order) {
        add(`version-${which}`, versions[which]!);
        add(`completion-${which}`, completions[which]!);
        if (DISCOVERY) add(`discovery-${which}`, discovered[which]!);
      }
      process.stderr.write(".");
    }
    process.stderr.write("\n");
    const rows = [
      ["`lmc --version`", "`node -e 0`", "e0", "version"],
      ["completion (`-n 5 -t 0`)", "naive SDK script", "naive", "completion"],
      ...(DISCOVERY ? ([["completion, no `--host` (found through `LMC_LOCAL_PORTS`)", "naive SDK script", "naive", "discovery"]] as const) : []),
    ] as const;
    for (const [label, baseline, baseKey, key] of rows) {
      const base = median(samples[baseKey]!);
      const [old, now] = [median(samples[`${key}-old`]!), median(samples[`${key}-new`]!)];
      out.push(
        `| ${version.trim()} | ${cache} | ${label} (vs ${baseline}) | ${base.toFixed(1)} | ${old.toFixed(1)} | ${(old / base).toFixed(2)} | ${now.toFixed(1)} | ${(now / base).toFixed(2)} | ${(now / old).toFixed(3)} |`,
      );
    }
  }
  // Discovery waits 700 ms for the greeting: on a loaded machine a run may find nothing, and is run again.
  if (DISCOVERY) out.push("", `Discovery runs that found no server and were run again: ${rerun}.`);
  out.push("", `Load average ${(await import("node:os")).loadavg()[0]!.toFixed(1)} at the end.`);
  process.stdout.write(`${out.join("\n")}\n`);
} finally {
  await server.close();
  await rm(work, { recursive: true, force: true });
}
