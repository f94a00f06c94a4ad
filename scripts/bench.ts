// npm run bench [-- --runs N] [-- --group TEXT]: lmc's start-up, end-to-end time and memory, each side by
// side with a baseline run in the same loop, against the targets in BENCHMARKS.md.
// The LM Studio-compatible test server runs in this process. Prints Markdown tables of
// medians and ratios; exits 1 when a target is missed.
// npm run bench -- --node 20,22,24,26: the npm package on those Node versions instead
// (scripts/bench-versions.ts).

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startTestServer, type TestServer } from "../test/server/server.js";
import { cleanEnv } from "../test/e2e/lmc-process.js";
import { packageExecutable } from "./package.js";
import { median } from "./bench/measure.js";

const FLOOD_FRAGMENTS = 20_000;
const PROMPT = "My name is";
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20;
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error("--runs takes a whole number of runs, 1 or more");
const MEMORY_RUNS = Math.max(3, Math.round(RUNS / 4));
const groupArg = process.argv.indexOf("--group");
/** --group TEXT: only the groups whose title contains TEXT. */
const ONLY = groupArg > 0 ? process.argv[groupArg + 1] : undefined;
const WARMUP = 2;
/** GNU time reports a process's peak RSS (-f %M, in KiB); without it, /proc is polled. */
const GNU_TIME = "/usr/bin/time";

interface Command {
  label: string;
  argv: string[];
  env?: NodeJS.ProcessEnv;
  /** What a correct run writes to stdout: so many bytes, or something. */
  expect?: number | "output";
}

interface Target {
  /** Highest allowed ratio to the group's baseline. */
  max: number;
  metric: "time" | "rss";
}

interface Group {
  title: string;
  baseline: Command;
  others: Array<Command & { targets?: Target[] }>;
}

interface Measured {
  command: Command;
  ms: number[];
  rssKiB: number[];
}

/** Runs a command to its exit; returns its wall time and, with `memory`, its peak RSS. */
async function runOnce(command: Command, memory: boolean, check = false): Promise<{ ms: number; rssKiB?: number }> {
  const env = command.env ?? cleanEnv();
  const useGnuTime = memory && existsSync(GNU_TIME);
  const dir = useGnuTime ? await mkdtemp(join(tmpdir(), "lmc-bench-")) : "";
  const argv = useGnuTime ? [GNU_TIME, "-f", "%M", "-o", join(dir, "rss"), ...command.argv] : command.argv;
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ["ignore", check ? "pipe" : "ignore", "pipe"] });
  let stdoutBytes = 0;
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdoutBytes += chunk.length));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  let polledKiB = 0;
  const poller =
    memory && !useGnuTime
      ? setInterval(() => {
          readFile(`/proc/${child.pid}/status`, "utf8").then(
            (status) => (polledKiB = Math.max(polledKiB, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0))),
            () => undefined,
          );
        }, 2)
      : undefined;
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  const ms = performance.now() - started;
  clearInterval(poller);
  if (code !== 0) throw new Error(`${command.label} exited ${code}:\n${stderr}`);
  if (check && typeof command.expect === "number" && stdoutBytes !== command.expect) {
    throw new Error(`${command.label} wrote ${stdoutBytes} bytes to stdout, not ${command.expect}`);
  }
  if (check && command.expect === "output" && stdoutBytes === 0) throw new Error(`${command.label} wrote nothing to stdout`);
  if (!useGnuTime) return { ms, rssKiB: memory ? polledKiB : undefined };
  const rssKiB = Number((await readFile(join(dir, "rss"), "utf8")).trim().split("\n").at(-1));
  await rm(dir, { recursive: true });
  return { ms, rssKiB };
}

/** Every command of the group once per round, in turn, so drift hits them all alike. */
async function measure(group: Group): Promise<Measured[]> {
  const commands = [group.baseline, ...group.others];
  const results = commands.map((command) => ({ command, ms: [] as number[], rssKiB: [] as number[] }));
  for (const command of commands) await runOnce(command, false, true);
  for (let round = 0; round < WARMUP + RUNS; round++) {
    for (const result of results) {
      const { ms } = await runOnce(result.command, false);
      if (round >= WARMUP) result.ms.push(ms);
    }
    process.stderr.write(".");
  }
  for (let round = 0; round < MEMORY_RUNS; round++) {
    for (const result of results) result.rssKiB.push((await runOnce(result.command, true)).rssKiB!);
  }
  process.stderr.write("\n");
  return results;
}

let missed = 0;

function report(group: Group, results: Measured[]): string {
  const [base, ...rest] = results;
  const baseMs = median(base!.ms);
  const baseRss = median(base!.rssKiB);
  const rows = [`| ${group.title} | median ms | ×time | peak RSS MB | ×RSS | target |`, "|---|---:|---:|---:|---:|---|"];
  rows.push(`| ${base!.command.label} (baseline) | ${baseMs.toFixed(0)} | 1.00 | ${(baseRss / 1024).toFixed(1)} | 1.00 | |`);
  for (const [i, result] of rest.entries()) {
    const ms = median(result.ms);
    const rss = median(result.rssKiB);
    const ratio = { time: ms / baseMs, rss: rss / baseRss };
    const verdicts = (group.others[i]!.targets ?? []).map((t) => {
      const met = ratio[t.metric] <= t.max;
      if (!met) missed++;
      return `×${t.metric === "time" ? "time" : "RSS"} ≤ ${t.max}: ${met ? "met" : "**missed**"}`;
    });
    rows.push(
      `| ${result.command.label} | ${ms.toFixed(0)} | ${ratio.time.toFixed(2)} | ${(rss / 1024).toFixed(1)} | ${ratio.rss.toFixed(2)} | ${verdicts.join("; ")} |`,
    );
  }
  return rows.join("\n");
}

function groups(server: TestServer, flood: TestServer): Group[] {
  const node = process.execPath;
  const lmc: Array<[string, string[]]> = [
    ["lmc (dist/lmc.cjs)", [node, "dist/lmc.cjs"]],
    ["lmc (dist/lmc, SEA)", ["dist/lmc"]],
  ];
  const naive = [node, "scripts/bench/naive-sdk-client.mjs"];
  const startup = (env?: NodeJS.ProcessEnv, suffix = ""): Group => ({
    title: `start-up${suffix}`,
    baseline: { label: "node -e 0", argv: [node, "-e", "0"], env },
    others: lmc.map(([label, argv]) => ({
      label: `${label} --version`,
      argv: [...argv, "--version"],
      env,
      expect: "output",
      targets: [{ metric: "time", max: 2 }],
    })),
  });
  const list: Group[] = [startup()];
  if (process.env.NODE_EXTRA_CA_CERTS) {
    const env = cleanEnv();
    delete env.NODE_EXTRA_CA_CERTS;
    list.push(startup(env, " without NODE_EXTRA_CA_CERTS"));
  }
  list.push({
    title: "completion, -n 5",
    baseline: { label: "naive SDK script", argv: [...naive, server.url, "5", PROMPT], expect: "output" },
    others: lmc.map(([label, argv]) => ({
      label,
      argv: [...argv, "--host", server.url, "-n", "5", "-t", "0", PROMPT],
      expect: "output",
      targets: [{ metric: "time", max: 0.8 }],
    })),
  });
  const floodBytes = FLOOD_FRAGMENTS * "word ".length;
  list.push({
    title: `relay of ${FLOOD_FRAGMENTS} fragments`,
    baseline: { label: "naive SDK script", argv: [...naive, flood.url, String(FLOOD_FRAGMENTS), PROMPT], expect: floodBytes },
    others: lmc.map(([label, argv]) => ({
      label,
      argv: [...argv, "--host", flood.url, "-n", String(FLOOD_FRAGMENTS), PROMPT],
      expect: floodBytes,
      targets: [
        { metric: "time", max: 1.1 },
        { metric: "rss", max: 1.2 },
      ],
    })),
  });
  // Load settings for a model already loaded: a listLoaded alongside the lookup, and a
  // getModelInfo for --context-length (2048 is what it has: nothing said; 8192: a line said).
  const cjs = [node, "dist/lmc.cjs", "--host", server.url, "-m", "lmc-tiny", "-n", "5", "-t", "0"];
  list.push({
    title: "--context-length for a model already loaded, -n 5",
    baseline: { label: "lmc -m lmc-tiny (no load setting)", argv: [...cjs, PROMPT], expect: "output" },
    others: ["2048", "8192"].map((length) => ({
      label: `lmc -m lmc-tiny --context-length ${length}`,
      argv: [...cjs, "--context-length", length, PROMPT],
      expect: "output",
      targets: [{ metric: "time", max: 1.1 }],
    })),
  });
  // --chat: one round trip more before the prediction, LM Studio rendering the model's template.
  list.push({
    title: "--chat, -n 5",
    baseline: { label: "lmc -m lmc-tiny (raw prompt)", argv: [...cjs, PROMPT], expect: "output" },
    others: [
      { label: "lmc -m lmc-tiny --chat", argv: [...cjs, "--chat", PROMPT], expect: "output", targets: [{ metric: "time", max: 1.1 }] },
      { label: 'lmc -m lmc-tiny --chat --system "Be brief."', argv: [...cjs, "--chat", "--system", "Be brief.", PROMPT], expect: "output" },
    ],
  });
  // The overflow check before predicting: a prompt that surely fits costs no count; one whose
  // text could pass the context (3,200 bytes, 1,001 tokens, for 2,048) costs a countTokens.
  // The baseline lets LM Studio cut the prompt (--context-overflow truncate-middle), so nothing is checked.
  const LONG_PROMPT = "My name is Tom. ".repeat(200);
  for (const [what, prompt] of <Array<[string, string]>>[
    ["a short prompt", PROMPT],
    ["a prompt counted (3,200 bytes)", LONG_PROMPT],
  ]) {
    list.push({
      title: `the overflow check, ${what}, -n 5`,
      baseline: {
        label: "lmc --context-overflow truncate-middle (no check)",
        argv: [...cjs, "--context-overflow", "truncate-middle", prompt],
        expect: "output",
      },
      others: [{ label: "lmc (checked)", argv: [...cjs, prompt], expect: "output", targets: [{ metric: "time", max: 1.1 }] }],
    });
  }
  return list;
}

if (process.argv.includes("--node")) await import("./bench-versions.js");
else await benchThisNode();

async function benchThisNode(): Promise<void> {
  await import("./build.js");
  await packageExecutable({ reuseIfFresh: true });
  const [server, flood] = await Promise.all([
    startTestServer({ quiet: true }),
    startTestServer({ quiet: true, fault: { type: "flood", fragments: FLOOD_FRAGMENTS } }),
  ]);
  try {
    const cpu = cpus()[0]?.model ?? "unknown CPU";
    const out = [
      `Machine: ${availableParallelism()} CPUs (${cpu}), Node ${process.version}, ${process.platform}-${process.arch}; ` +
        `NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS ? "set" : "unset"}.`,
      `Medians of ${RUNS} runs (after ${WARMUP} warm-up runs) for time, of ${MEMORY_RUNS} for peak RSS ` +
        `(${existsSync(GNU_TIME) ? "GNU time" : "polled from /proc"}); × is the ratio to the group's baseline.`,
    ];
    for (const group of groups(server, flood).filter((group) => ONLY === undefined || group.title.includes(ONLY))) {
      process.stderr.write(`${group.title} `);
      out.push("", report(group, await measure(group)));
    }
    out.push("", missed === 0 ? "All targets met." : `${missed} target(s) missed.`);
    process.stdout.write(`${out.join("\n")}\n`);
    if (missed > 0) process.exitCode = 1;
  } finally {
    await Promise.all([server.close(), flood.close()]);
  }
}
