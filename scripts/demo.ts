// lmc's main job with no LM Studio around: builds lmc and the tiny model, starts
// the project's LM Studio-compatible server, and pipes "My name is" through lmc.
// The completion streams to stdout, the stats line goes to stderr.
// Extra arguments go to lmc:  npm run demo -- --stop .

import { spawn } from "node:child_process";
import { once } from "node:events";
import { startTestServer } from "../test/server/server.js";

await import("./build.js");
const server = await startTestServer({ quiet: true });
try {
  const lmc = spawn(process.execPath, ["dist/lmc.cjs", "--host", server.url, "--max-tokens", "40", "--temperature", "0", ...process.argv.slice(2)], {
    stdio: ["pipe", "inherit", "inherit"],
  });
  lmc.stdin.end("My name is\n");
  const [code] = await once(lmc, "close");
  process.exitCode = code ?? 1;
} finally {
  await server.close();
}
