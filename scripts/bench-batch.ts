// npm run bench:batch: batch mode against one lmc per prompt, and batch mode's
// memory as the input grows. Results go in BENCHMARKS.md ("Batch mode").
//
// 1. The same 500 prompts, greedy, 8 tokens each, against the test server: one
//    `lmc --each --parallel 4` versus 500 `lmc` runs one after another (as a shell
//    loop does). The outputs must agree; the target is a speed-up of 10x or more.
// 2. Peak RSS of `lmc --each --parallel 4` over 1,000 and 100,000 lines, against a
//    server in flood mode (one fragment per prompt, no model), so that only lmc's
//    own memory grows or not. The target is flat: at most 1.2x. 10,000 lines are
//    measured too, to tell V8 sizing its heap in the first seconds from a leak.

import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { cleanEnv } from "../test/e2e/lmc-process.js";
import { startTestServer } from "../test/server/server.js";

await import("./build.js");
const LMC = ["dist/lmc.cjs"];
const PROMPTS = Array.from({ length: 500 }, (_, i) => `My name is ${["Anna", "Sam", "the baker", "not"][i % 4]} and ${i}`);

function run(args: string[], input: string): Promise<{ stdout: string; ms: number; rssKiB: number }> {
  const started = performance.now();
  // GNU time (Debian package `time`) reports the peak RSS on its last stderr line.
  const child = spawn("/usr/bin/time", ["-f", "%M", process.execPath, ...LMC, ...args], { env: cleanEnv() });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.end(input);
  return new Promise((resolve, reject) =>
    child.on("close", (code) => {
      const ms = performance.now() - started;
      if (code !== 0) return reject(new Error(`lmc ${args.join(" ")} exited ${code}: ${stderr}`));
      resolve({ stdout, ms, rssKiB: Number(stderr.trim().split("\n").at(-1)) });
    }),
  );
}

const server = await startTestServer({ quiet: true });
const flood = await startTestServer({ quiet: true, fault: { type: "flood", fragments: 1, text: "x" } });
try {
  const common = ["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "8", "--no-stats"];

  const batch = await run([...common, "--each", "--parallel", "4"], PROMPTS.join("\n") + "\n");
  const batchCompletions = batch.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line).completion as string);

  let separateMs = 0;
  const separateCompletions: string[] = [];
  for (const prompt of PROMPTS) {
    const single = await run([...common, prompt], "");
    separateMs += single.ms;
    separateCompletions.push(single.stdout);
  }
  const same = batchCompletions.every((text, i) => text === separateCompletions[i]);

  const memory: Array<[number, number, number]> = [];
  for (const lines of [1_000, 10_000, 100_000]) {
    const input = Array.from({ length: lines }, (_, i) => `prompt ${i}`).join("\n") + "\n";
    const result = await run(["--host", flood.url, "--no-stats", "--each", "--parallel", "4"], input);
    memory.push([lines, result.rssKiB, result.ms]);
  }

  const speedUp = separateMs / batch.ms;
  const growth = memory[2]![1] / memory[0]![1];
  const growthAfterWarmUp = memory[2]![1] / memory[1]![1];
  console.log(`| 500 prompts, 8 tokens each | wall s | ratio |
|---|---:|---:|
| 500 separate lmc runs | ${(separateMs / 1000).toFixed(1)} | 1.00 |
| one lmc --each --parallel 4 | ${(batch.ms / 1000).toFixed(1)} | ${(batch.ms / separateMs).toFixed(3)} (${speedUp.toFixed(1)}x faster; target >= 10x: ${speedUp >= 10 ? "met" : "**missed**"}) |

Same completions from both: ${same ? "yes" : "**no**"}.

| lmc --each --parallel 4 | peak RSS MB | ratio | wall s | items/s |
|---|---:|---:|---:|---:|
${memory.map(([lines, kib, ms]) => `| ${lines.toLocaleString("en")} lines | ${(kib / 1024).toFixed(1)} | ${(kib / memory[0]![1]).toFixed(2)} | ${(ms / 1000).toFixed(1)} | ${Math.round(lines / (ms / 1000))} |`).join("\n")}

From 1,000 to 100,000 lines memory ${growth <= 1.2 ? "stays flat (target <= 1.2x: met)" : `grows ${growth.toFixed(2)}x (target <= 1.2x: **missed**)`}; from 10,000 to 100,000 it changes ${growthAfterWarmUp.toFixed(2)}x.`);
  process.exitCode = speedUp >= 10 && growth <= 1.2 && same ? 0 : 1;
} finally {
  await Promise.all([server.close(), flood.close()]);
}
