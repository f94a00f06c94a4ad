// lmc's main job with no LM Studio around: builds lmc and the tiny model, starts
// the project's LM Studio-compatible server, and pipes "My name is" through lmc.
// The prompt (--echo) and its completion stream to stdout, the stats line goes to
// stderr. At temperature 0 the tiny model says one sentence and then repeats it,
// so the demo asks for the tokens of that sentence alone.
// Extra arguments go to lmc:  npm run demo -- --stop .

import { spawn } from "node:child_process";
import { once } from "node:events";
import { startTestServer } from "../test/server/server.js";

const PROMPT = "My name is";
const ARGS = ["--echo", "--max-tokens", "10", "--temperature", "0"];

await import("./build.js");
const server = await startTestServer({ quiet: true });
try {
  process.stderr.write(`$ echo "${PROMPT}" | lmc ${[...ARGS, ...process.argv.slice(2)].join(" ")}\n`);
  const lmc = spawn(process.execPath, ["dist/lmc.cjs", "--host", server.url, ...ARGS, ...process.argv.slice(2)], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  // The completion streams as it comes; the stats line waits for its end, and starts a
  // line of its own rather than the completion's last.
  let last = "\n";
  lmc.stdout.on("data", (chunk: Buffer) => {
    process.stdout.write(chunk);
    last = chunk.toString().slice(-1) || last;
  });
  const stderr: Buffer[] = [];
  lmc.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
  lmc.stdin.end(`${PROMPT}\n`);
  const [code] = await once(lmc, "close");
  if (last !== "\n") process.stdout.write("\n");
  process.stderr.write(Buffer.concat(stderr));
  process.exitCode = code ?? 1;
} finally {
  await server.close();
}
