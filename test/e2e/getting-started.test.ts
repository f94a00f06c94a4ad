// A newcomer's first steps, the README's way: `npm run server`, then plain `lmc`.
// The server listens on LM Studio's default port 1234 when it is free, so lmc finds it
// without --host; when 1234 is taken it prints the `export LMC_HOST=…` line to use.

import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, expect, it } from "vitest";
import { DEFAULT_PORT, withDefaultPort } from "./default-port.js";
import { runLmc } from "./lmc-process.js";

let running: ChildProcess | undefined;

afterEach(() => stopServer());

/** npm runs the server in a shell of its own: stop the whole process group. */
async function stopServer(): Promise<void> {
  if (running?.pid !== undefined && running.exitCode === null) {
    const exited = once(running, "exit");
    process.kill(-running.pid, "SIGTERM");
    await exited;
  }
  running = undefined;
}

/** `npm run server`, as the README says; resolves with its address and what it said on stderr so far. */
async function npmRunServer(): Promise<{ url: string; stderr: () => string }> {
  const child = spawn("npm", ["run", "--silent", "server"], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  running = child;
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  for await (const line of createInterface({ input: child.stdout })) {
    if (/^ws:\/\//.test(line)) return { url: line, stderr: () => stderr };
  }
  throw new Error(`npm run server printed no address; stderr:\n${stderr}`);
}

/** Holds the port, or undefined when something else already does. */
async function hold(port: number): Promise<Server | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

/**
 * Holds the port, waiting a while for it: npm exits before the server it ran has let
 * go of its port, and a server of the test before that dies only after we looked would
 * free 1234 for the server under test. Undefined when something else keeps holding it.
 */
async function holdOnceFree(port: number): Promise<Server | undefined> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const server = await hold(port);
    if (server || Date.now() > deadline) return server;
    await sleep(100);
  }
}

it(
  "serves on 1234 when it is free, and plain lmc finds it",
  (context) =>
    withDefaultPort(async () => {
      const probe = await holdOnceFree(DEFAULT_PORT);
      if (!probe) {
        console.log(`skipped: port ${DEFAULT_PORT} is taken on this machine (LM Studio itself, maybe)`);
        return context.skip();
      }
      await new Promise((resolve) => probe.close(resolve));
      const { url, stderr } = await npmRunServer();
      // Something may have taken 1234 in between: then the server must say what to do instead.
      if (url !== `ws://127.0.0.1:${DEFAULT_PORT}`) {
        expect(stderr()).toContain(`export LMC_HOST=${url}`);
        return context.skip();
      }
      const result = await runLmc(["-n", "3", "--no-stats"], { input: "My name is\n" });
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.text.length).toBeGreaterThan(0);
      await stopServer();
    }),
  60_000,
);

it(
  "says when 1234 is taken and prints the export line that makes plain lmc find it",
  () =>
    withDefaultPort(async () => {
      const held = await holdOnceFree(DEFAULT_PORT); // undefined: someone else holds it, which is just as good
      try {
        const { url, stderr } = await npmRunServer();
        expect(url).not.toBe(`ws://127.0.0.1:${DEFAULT_PORT}`);
        const exportLine = stderr()
          .split("\n")
          .find((line) => line.trim().startsWith("export LMC_HOST="));
        expect(stderr()).toMatch(/port 1234 is taken/);
        expect(exportLine?.trim()).toBe(`export LMC_HOST=${url}`);
        const host = exportLine!.trim().slice("export LMC_HOST=".length);
        const result = await runLmc(["-n", "3", "--no-stats"], { input: "My name is\n", env: { LMC_HOST: host } });
        expect(result.stderr).toBe("");
        expect(result.code).toBe(0);
      } finally {
        await stopServer();
        await new Promise((resolve) => (held ? held.close(resolve) : resolve(undefined)));
      }
    }),
  60_000,
);
