// lmc on a terminal: script(1) gives it a real pseudo-terminal for stdin, stdout and stderr.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { cleanEnv, lmcCommand, runLmc } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterAll(() => server?.close());

function onTerminal(
  args: string[],
  typed: string[],
  env: Record<string, string | undefined> = {},
  /** Words before lmc's, like timeout(1)'s. */
  before: string[] = [],
): Promise<{ code: number | null; screen: string }> {
  const command = [...before, ...lmcCommand(), ...args].map((word) => (/^[\w./:=-]+$/.test(word) ? word : `'${word}'`)).join(" ");
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

describe("while the model generates", () => {
  // 12 tokens, 80 ms apart: about a second of generating, several redraws of the line.
  const greedy = () => ["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "12", "My name is"];
  const generating = /generating: \d+ tokens?, \d+\.\d tok\/s/;
  let dir = "";
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "lmc-generating-"));
    server.setFault({ type: "slow", delayMs: 80 });
  });
  afterEach(() => {
    server.setFault({ type: "none" });
    rmSync(dir, { recursive: true, force: true });
  });

  it("-o: the progress line counts tokens and their rate, then is cleared before the stats line; the file is what a pipe gets", async () => {
    const piped = await runLmc(greedy());
    const file = join(dir, "out.txt");
    const { code, screen } = await onTerminal([...greedy(), "-o", file], []);
    expect(code).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(piped.text);
    expect(screen).toMatch(generating);
    const lastLine = screen.slice(screen.lastIndexOf("generating:"));
    expect(lastLine).toMatch(/^generating: [^\r\n]*\r\x1b\[K\{"model":/); // cleared, then the stats line
    expect(lastLine).not.toContain(piped.text);
  });

  it("--no-stream: the line is cleared before the completion is written", async () => {
    const { code, screen } = await onTerminal([...greedy(), "--no-stream", "--no-stats"], []);
    expect(code).toBe(0);
    expect(screen).toMatch(generating);
    expect(screen).toMatch(/generating: [^\r\n]*\r\x1b\[K Anna\./);
  });

  it("is not shown when the completion streams to the terminal: the text shows itself", async () => {
    const { code, screen } = await onTerminal(greedy(), []);
    expect(code).toBe(0);
    expect(screen).toContain(" Anna.");
    expect(screen).not.toContain("generating:");
  });

  it("is cleared before the message of a SIGTERM mid-generation, and -o's file is left as it was", async () => {
    const file = join(dir, "out.txt");
    writeFileSync(file, "earlier\n");
    server.setFault({ type: "slow", delayMs: 200 });
    const { code, screen } = await onTerminal([...greedy(), "-n", "50", "-o", file], [], {}, ["timeout", "-s", "TERM", "1.5"]);
    expect(code).toBe(124); // timeout(1)'s status for a command it had to stop
    expect(screen).toMatch(/generating: [^\r\n]*\r\x1b\[Klmc: terminated \(SIGTERM\)\r\n$/);
    expect(readFileSync(file, "utf8")).toBe("earlier\n");
  });

  it("is not shown with --no-progress", async () => {
    const { code, screen } = await onTerminal([...greedy(), "-o", join(dir, "out.txt"), "--no-progress"], []);
    expect(code).toBe(0);
    expect(screen).not.toContain("generating:");
  });
});
