// FIFOs the user names (-o, --schema, --resume, --each-file) when their other end is
// slow to come: one signal ends the wait, and lmc never plays the other end itself,
// so another process using the same FIFO meanwhile is neither fed nor robbed.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, constants, openSync, readSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { waitsOn } from "./fifo-wait.js";
import { runLmc } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterAll(() => server?.close());

function fifo(): string {
  const path = join(tempDir("fifo"), "fifo");
  execFileSync("mkfifo", [path]); // Node has no mkfifo of its own
  return path;
}

/** A process that outlives the test only until it ends. */
function started(command: string, args: string[]): { child: ChildProcess; output: () => string; closed: Promise<number | null> } {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "ignore"] });
  onTestFinished(() => void child.kill("SIGKILL"));
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const closed = new Promise<number | null>((resolve) => child.on("close", resolve));
  return { child, output: () => output, closed };
}

describe("--each-file with a FIFO no one writes: one signal ends it", () => {
  it.each<[string, (path: string) => { args: string[]; input?: string }, NodeJS.Signals, number]>([
    ["named as a word, SIGTERM", (path) => ({ args: ["--each-file", path] }), "SIGTERM", 143],
    ["named as a word, SIGINT", (path) => ({ args: ["--each-file", path] }), "SIGINT", 130],
    ["named on stdin, SIGTERM", (path) => ({ args: ["--each-file"], input: `${path}\n` }), "SIGTERM", 143],
  ])("%s", async (_, run, signal, status) => {
    const path = fifo();
    const { args, input } = run(path);
    const result = await runLmc(["--host", server.url, "-n", "2", ...args], {
      ...(input === undefined ? {} : { input }),
      onSpawn: (child) => void waitsOn(child.pid!, path).then(() => child.kill(signal)),
    });
    expect(result.code).toBe(status);
    expect(result.stderr).toMatch(/^lmc: (terminated \(SIGTERM\)|interrupted)$/m);
  });
});

describe("lmc is never the other end of a FIFO it waits on", () => {
  it.each([
    ["--schema", (path: string) => ["--schema", path, "hi"]],
    ["--each-file", (path: string) => ["--each-file", path]],
    ["--resume", (path: string) => ["--each", "--resume", path]],
  ])("%s FIFO: another reader of the FIFO gets no end of file when lmc is stopped", async (_, args) => {
    const path = fifo();
    const reader = started("cat", [path]);
    await waitsOn(reader.child.pid!, path);
    const result = await runLmc(["--host", server.url, ...args(path)], {
      input: "My name is\n",
      onSpawn: (child) => void waitsOn(child.pid!, path).then(() => child.kill("SIGTERM")),
    });
    expect(result.code).toBe(143);
    // The other reader still waits for a writer: this one, whose line it gets whole.
    const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK); // ENXIO were no reader left
    writeSync(writer, "the writer's line\n");
    closeSync(writer);
    expect(await reader.closed).toBe(0);
    expect(reader.output()).toBe("the writer's line\n");
  });

  it("-o FIFO: another writer's line is not read and thrown away when lmc gives up", async () => {
    const path = fifo();
    const writer = started("sh", ["-c", 'printf "the writer\'s line\\n" > "$0"', path]);
    await waitsOn(writer.child.pid!, path);
    const result = await runLmc(["--host", server.url, "-o", path, "--timeout", "1", "hi"]);
    expect(result.code).toBe(124);
    // The writer still waits for a reader: this one, which gets its line.
    const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    onTestFinished(() => closeSync(reader));
    expect(await writer.closed).toBe(0);
    const buffer = Buffer.alloc(100);
    let length = 0;
    try {
      length = readSync(reader, buffer);
    } catch {
      // EAGAIN: nothing there
    }
    expect(buffer.subarray(0, length).toString()).toBe("the writer's line\n");
  });
});
