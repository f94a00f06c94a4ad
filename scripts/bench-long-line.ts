// npm run bench:long-line: reading records stays linear in their length. Results go
// in BENCHMARKS.md ("One long line").
//
// Against the test server, which turns a prompt far longer than the context down
// without tokenizing it (as LM Studio answers an error), so that lmc's own reading
// and sending is what counts:
// 1. one 40 MB line (no newline inside) as the prompt of `lmc` (single mode reads
//    stdin whole) and as the one item of `lmc --each` (split into records); both end
//    with "prompt too long" (exit 1); the target is --each within 2x of the single run;
// 2. `lmc --each --resume FILE` where FILE is 100 MB without a newline (a run
//    killed mid-write of a huge record), with one short item to complete.
// LMC_BIN=path/to/lmc.cjs measures another build (an older commit, for comparison).

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { cleanEnv } from "../test/e2e/lmc-process.js";
import { startTestServer } from "../test/server/server.js";

if (!process.env.LMC_BIN) await import("./build.js");
const LMC = process.env.LMC_BIN ?? "dist/lmc.cjs";

function run(args: string[], input: Buffer | string, expectedCode: number): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, [LMC, ...args], { env: cleanEnv(), stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.on("error", () => {});
  child.stdin.end(input);
  return new Promise((resolve, reject) =>
    child.on("close", (code) =>
      code === expectedCode ? resolve((performance.now() - started) / 1000) : reject(new Error(`lmc ${args.join(" ")} exited ${code}: ${stderr}`)),
    ),
  );
}

const server = await startTestServer({ quiet: true });
const dir = mkdtempSync(join(tmpdir(), "lmc-bench-"));
try {
  const common = ["--host", server.url, "-n", "1", "--no-stats"];
  const line = Buffer.concat([Buffer.alloc(40 * 1024 * 1024, "word "), Buffer.from("\n")]);
  const single = await run(common, line, 1);
  const each = await run([...common, "--each"], line, 1);
  const resumeFile = join(dir, "out.jsonl");
  writeFileSync(resumeFile, Buffer.alloc(100 * 1024 * 1024, "x"));
  const resume = await run([...common, "--each", "--resume", resumeFile], "My name is\n", 0);

  const ratio = each / single;
  console.log(`| one long line | wall s | ratio |
|---|---:|---:|
| lmc < 40 MB line (single run) | ${single.toFixed(1)} | 1.00 |
| lmc --each < 40 MB line | ${each.toFixed(1)} | ${ratio.toFixed(2)} (target <= 2: ${ratio <= 2 ? "met" : "**missed**"}) |
| lmc --each --resume FILE (100 MB, no newline) | ${resume.toFixed(1)} | |`);
  process.exitCode = ratio <= 2 ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
  await server.close();
}
