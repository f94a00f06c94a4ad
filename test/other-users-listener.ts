// A listener of another local user (nobody, uid 65534) on a free loopback port, which
// greets like LM Studio: what any user of the machine can start where lmc looks for
// LM Studio. It reports on its stdout every request it gets, so a test can tell whether
// lmc went past the greeting (a websocket would carry the API token and the prompt).
// Starting a process as another user takes root, as CI has; elsewhere tests skip.

import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { onTestFinished } from "vitest";

export const NOBODY = 65534;

/** Root on Linux: what it takes to start a process as another user and read its socket's owner. */
export const canRunAsAnotherUser = process.platform === "linux" && process.getuid?.() === 0;

const greeter = `
const server = require("node:http").createServer((req, res) => {
  console.log(JSON.stringify({ url: req.url, upgrade: req.headers.upgrade ?? null }));
  res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ lmstudio: true }));
});
server.on("upgrade", (req, socket) => { console.log(JSON.stringify({ url: req.url, upgrade: req.headers.upgrade })); socket.destroy(); });
server.on("error", (error) => { console.error(error.message); process.exit(1); });
server.listen(Number(process.argv[1]), "127.0.0.1", () => console.log(JSON.stringify({ port: server.address().port })));
`;

export interface OtherUsersListener {
  port: number;
  /** The requests it got so far: the greeting's URL, or a websocket upgrade. */
  requests: Array<{ url: string; upgrade: string | null }>;
}

/** Starts the listener as nobody, on `port` (default: a free one); it is stopped when the test ends. */
export async function startOtherUsersListener(port = 0): Promise<OtherUsersListener> {
  const child: ChildProcess = spawn(process.execPath, ["-e", greeter, String(port)], {
    uid: NOBODY,
    gid: NOBODY,
    cwd: "/",
    env: {},
    stdio: ["ignore", "pipe", "ignore"],
  });
  onTestFinished(() => void child.kill());
  const requests: OtherUsersListener["requests"] = [];
  const lines = createInterface({ input: child.stdout! });
  const listening = await new Promise<number>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`the listener exited with ${code} before listening`)));
    lines.on("line", (line) => {
      const message = JSON.parse(line) as { port?: number; url: string; upgrade: string | null };
      if (message.port !== undefined) resolve(message.port);
      else requests.push({ url: message.url, upgrade: message.upgrade });
    });
  });
  return { port: listening, requests };
}
