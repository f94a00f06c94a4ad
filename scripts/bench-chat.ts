// npm run bench:chat: what --chat costs in batch mode, where every item makes one
// round trip more (LM Studio renders the item's chat with its model's template) before
// its prediction. The same 500 prompts, greedy, 8 tokens each, `lmc --each -P 4` with
// and without --chat, alternating, against the test server (whose tiny model carries a
// ChatML template rendered by node-llama-cpp). The single run's cost is in `npm run
// bench` ("--chat, -n 5").

import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { cleanEnv } from "../test/e2e/lmc-process.js";
import { startTestServer } from "../test/server/server.js";
import { median } from "./bench/measure.js";

await import("./build.js");
const ROUNDS = 5;
const PROMPTS = Array.from({ length: 500 }, (_, i) => `My name is ${["Anna", "Sam", "the baker", "not"][i % 4]} and ${i}`);

function run(args: string[], input: string): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, ["dist/lmc.cjs", ...args], { env: cleanEnv(), stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdin.end(input);
  return new Promise((resolve, reject) =>
    child.on("close", (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`lmc ${args.join(" ")} exited ${code}: ${stderr}`)))),
  );
}

const server = await startTestServer({ quiet: true });
try {
  const common = ["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "8", "--no-stats", "--each", "--parallel", "4"];
  const input = PROMPTS.join("\n") + "\n";
  const raw: number[] = [];
  const chat: number[] = [];
  await run(common, input); // warm-up: the model's file in the page cache, the engine's first context
  for (let round = 0; round < ROUNDS; round++) {
    raw.push(await run(common, input));
    chat.push(await run([...common, "--chat"], input));
  }
  const [rawMs, chatMs] = [median(raw), median(chat)];
  console.log(`| 500 prompts, 8 tokens each, -P 4 (median of ${ROUNDS}) | wall s | ratio | ms per item more |
|---|---:|---:|---:|
| lmc --each | ${(rawMs / 1000).toFixed(2)} | 1.00 | |
| lmc --each --chat | ${(chatMs / 1000).toFixed(2)} | ${(chatMs / rawMs).toFixed(2)} | ${((chatMs - rawMs) / PROMPTS.length).toFixed(2)} |`);
} finally {
  await server.close();
}
