// lmc on a terminal: script(1) gives it a real pseudo-terminal for stdin, stdout and stderr.

import { spawn } from "node:child_process";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { cleanEnv, lmcCommand } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterAll(() => server?.close());

function onTerminal(args: string[], typed: string[], env: Record<string, string | undefined> = {}): Promise<{ code: number | null; screen: string }> {
  const command = [...lmcCommand(), ...args].map((word) => (/^[\w./:=-]+$/.test(word) ? word : `'${word}'`)).join(" ");
  const child = spawn("script", ["-qec", command, "/dev/null"], { env: { ...cleanEnv(), ...env }, stdio: ["pipe", "pipe", "pipe"] });
  let screen = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (screen += chunk));
  // Typing goes on while the screen is read; the child closing ends the test.
  void (async () => {
    for (const keys of typed) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      child.stdin.write(keys);
    }
  })();
  const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(killer);
      resolve({ code, screen });
    }),
  );
}

it("reads a typed prompt until Ctrl-D, after a hint, and ends the completion with a newline", async () => {
  const { code, screen } = await onTerminal(
    ["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "5", "--stop", ".", "--no-stats"],
    ["My name is\n", "\x04"],
  );
  expect(code).toBe(0);
  expect(screen).toContain("lmc: reading the prompt from the terminal; end it with Ctrl-D");
  expect(server.received.at(-1)!.prompt).toBe("My name is");
  expect(screen.endsWith("\r\n")).toBe(true);
});

it("lists models in columns on a terminal", async () => {
  const { code, screen } = await onTerminal(["--host", server.url, "--list"], []);
  expect(code).toBe(0);
  expect(screen).toMatch(/lmc-tiny\s+loaded\s+\S/);
  expect(screen).toMatch(/lmc-tiny-unloaded\s+\S/);
});

it("shows progress on a terminal, in colour unless NO_COLOR is set, and clears it", async () => {
  const args = ["--host", server.url, "-m", "lmc-tiny-unloaded", "-n", "3", "--no-stats", "hi"];
  const coloured = await onTerminal(args, [], { NO_COLOR: undefined, TERM: "xterm" });
  expect(coloured.code).toBe(0);
  expect(coloured.screen).toContain("loading lmc-tiny-unloaded  \x1b[36m[");
  expect(coloured.screen).toContain("processing the prompt  \x1b[36m[");
  expect(coloured.screen).toContain("\r\x1b[K");

  const plain = await onTerminal(args, []);
  expect(plain.screen).toContain("processing the prompt  [");
  expect(plain.screen).not.toContain("\x1b[36m");
});

it("shows no progress on a terminal with --no-progress", async () => {
  const { code, screen } = await onTerminal(["--host", server.url, "-n", "3", "--no-stats", "--no-progress", "hi"], []);
  expect(code).toBe(0);
  expect(screen).not.toContain("processing the prompt");
});

it("starts the stats line on a line of its own when the completion does not end with a newline", async () => {
  for (const extra of [[], ["--no-stream"], ["--echo"]]) {
    const { code, screen } = await onTerminal(["--host", server.url, "-t", "0", "-n", "3", "--no-progress", ...extra, "My name is"], []);
    expect(code).toBe(0);
    expect(screen).toMatch(/ Anna\. I\r\n\{"model":/);
  }
});
