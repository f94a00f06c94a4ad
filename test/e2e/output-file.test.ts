// -o FILE end to end: what it does to devices, FIFOs, symlinks and files beside
// it, and that no temporary file outlives lmc, however it ends.

import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { expectOneErrorLine } from "./error-line.js";
import { cleanEnv, lmcCommand, runLmc } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterEach(() => server.setFault({ type: "none" }));
afterAll(() => server?.close());

const greedy = () => ["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "8"];
let expected: string | undefined;
/** What `lmc … "My name is"` writes on stdout. */
async function completion(): Promise<string> {
  return (expected ??= (await runLmc([...greedy(), "My name is"])).text);
}

/** A character device node like /dev/null (1, 3) or /dev/full (1, 7) in `dir`; undefined without the right to make one. */
function deviceNode(dir: string, name: string, minor: number): string | undefined {
  const path = join(dir, name);
  try {
    execFileSync("mknod", [path, "c", "1", String(minor)], { stdio: "ignore" });
    return path;
  } catch {
    return undefined;
  }
}

describe("-o onto what is not a regular file is written in place", () => {
  it("a character device (a /dev/null of its own) stays a device; nothing is made beside it", async (context) => {
    const dir = tempDir("out-device");
    const device = deviceNode(dir, "null", 3);
    if (!device) return context.skip();
    for (const mode of [[], ["--each"]]) {
      const result = await runLmc([...greedy(), ...mode, "-o", device, ...(mode.length ? [] : ["My name is"])], { input: "My name is\n" });
      expect(result.code).toBe(0);
      expect(statSync(device).isCharacterDevice()).toBe(true);
      expect(readdirSync(dir)).toEqual(["null"]);
    }
  });

  it("a write error (a /dev/full of its own) is one error line and exit 1; the device stays", async (context) => {
    const dir = tempDir("out-full");
    const device = deviceNode(dir, "full", 7);
    if (!device) return context.skip();
    for (const mode of [[], ["--each"]]) {
      const result = await runLmc([...greedy(), ...mode, "-o", device, ...(mode.length ? [] : ["My name is"])], { input: "My name is\n" });
      expect(result.code).toBe(1);
      expectOneErrorLine(result, /^lmc: cannot write .*full: no space left on device$/);
      expect(statSync(device).isCharacterDevice()).toBe(true);
      expect(readdirSync(dir)).toEqual(["full"]);
    }
  });

  it("a FIFO gets the completion and stays a FIFO", async () => {
    const dir = tempDir("out-fifo");
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    const reader = spawn("cat", [fifo]);
    onTestFinished(() => void reader.kill()); // a reader still waiting when lmc failed
    let read = "";
    reader.stdout.setEncoding("utf8").on("data", (chunk: string) => (read += chunk));
    const closed = new Promise((resolve) => reader.on("close", resolve));
    const result = await runLmc([...greedy(), "-o", fifo, "My name is"]);
    await closed;
    expect(result.code).toBe(0);
    expect(read).toBe(await completion());
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(dir)).toEqual(["fifo"]);
  });

  it("/dev/fd/1 is the stdout lmc was given", async () => {
    const result = await runLmc([...greedy(), "-o", "/dev/fd/1", "My name is"]);
    expect(result.code).toBe(0);
    expect(result.text).toBe(await completion());
  });
});

describe("-o onto a symlink", () => {
  it("replaces the link's target, which keeps its mode and owner, and leaves the link a link", async () => {
    const dir = tempDir("out-link");
    const target = join(dir, "target.txt");
    writeFileSync(target, "old\n");
    chmodSync(target, 0o640);
    const owner = process.getuid?.() === 0 ? { uid: 1234, gid: 5678 } : { uid: statSync(target).uid, gid: statSync(target).gid };
    chownSync(target, owner.uid, owner.gid);
    symlinkSync("target.txt", join(dir, "link"));
    const result = await runLmc([...greedy(), "-o", join(dir, "link"), "My name is"]);
    expect(result.code).toBe(0);
    expect(lstatSync(join(dir, "link")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dir, "link"))).toBe("target.txt");
    expect(readFileSync(target, "utf8")).toBe(await completion());
    expect(statSync(target).mode & 0o7777).toBe(0o640);
    expect(statSync(target)).toMatchObject(owner);
    expect(readdirSync(dir).sort()).toEqual(["link", "target.txt"]);
  });

  it("a dangling symlink: the file it names is made", async () => {
    const dir = tempDir("out-link");
    symlinkSync("made.txt", join(dir, "link"));
    const result = await runLmc([...greedy(), "-o", join(dir, "link"), "My name is"]);
    expect(result.code).toBe(0);
    expect(lstatSync(join(dir, "link")).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(dir, "made.txt"), "utf8")).toBe(await completion());
  });

  it("\"..\" after a symlinked folder goes where the kernel (and a shell's >) would: beside the link's target", async () => {
    const dir = tempDir("out-dotdot");
    mkdirSync(join(dir, "a", "b"), { recursive: true });
    symlinkSync(join("a", "b"), join(dir, "dl"));
    const result = await runLmc([...greedy(), "-o", `${join(dir, "dl")}/../out.txt`, "My name is"]); // not join(): it would drop the ".."
    expect(result.code).toBe(0);
    expect(readFileSync(join(dir, "a", "out.txt"), "utf8")).toBe(await completion());
    expect(readdirSync(dir).sort()).toEqual(["a", "dl"]);
  });
});

describe("-o's temporary file", () => {
  it("follows no symlink planted where it could be guessed, on success or failure", async () => {
    const dir = tempDir("out-planted");
    const victim = join(tempDir("out-victim"), "victim.txt");
    writeFileSync(victim, "precious\n");
    const out = join(dir, "out.txt");
    // The name lmc used to take, planted before lmc gets that far (Node takes a while to start).
    const plant = { onSpawn: (child: { pid?: number }) => symlinkSync(victim, join(dir, `.out.txt.lmc-${child.pid}.tmp`)) };
    const result = await runLmc([...greedy(), "-o", out, "My name is"], plant);
    expect(result.code).toBe(0);
    expect(readFileSync(out, "utf8")).toBe(await completion());
    expect(lstatSync(out).isFile()).toBe(true);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");

    server.setFault({ type: "dieMidStream", afterFragments: 3 });
    const failed = await runLmc([...greedy(), "-o", out, "My name is"], plant);
    expect(failed.code).toBe(1);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
  });
});

describe("no temporary file is left behind", () => {
  /** Waits until lmc has made its temporary file in `dir`, then sends `signal` twice. */
  const twice = (dir: string, signal: NodeJS.Signals) => ({
    onSpawn(child: { kill(signal: NodeJS.Signals): boolean }) {
      const poll = setInterval(() => {
        if (!readdirSync(dir).some((name) => name.startsWith("."))) return;
        clearInterval(poll);
        child.kill(signal);
        setTimeout(() => child.kill(signal), 100);
      }, 20);
    },
  });

  it.each<[NodeJS.Signals, string, string[], number]>([
    ["SIGINT", "a single run", ["My name is"], 130],
    ["SIGINT", "a batch", ["--each"], 130],
    ["SIGTERM", "a single run", ["My name is"], 143],
    ["SIGHUP", "a batch", ["--each"], 129],
  ])("on a second %s (which exits at once), in %s", async (signal, _, args, code) => {
    // A server that never answers: after the first signal lmc waits a moment for it
    // to close the session, and the second comes then.
    server.setFault({ type: "hang" });
    const dir = tempDir("out-signal");
    writeFileSync(join(dir, "out.txt"), "previous\n");
    const result = await runLmc([...greedy(), "-o", join(dir, "out.txt"), ...args], { input: "My name is\n", ...twice(dir, signal) });
    expect(result.code).toBe(code);
    expect(readdirSync(dir)).toEqual(["out.txt"]);
    expect(readFileSync(join(dir, "out.txt"), "utf8")).toBe("previous\n");
  });

  it.each([
    ["--timeout, single", ["--timeout", "1", "My name is"], 124],
    ["--fail-on-truncate, single", ["--fail-on-truncate", "My name is"], 5],
    ["the server refusing, batch", ["--each"], 3],
  ])("on an error: %s", async (_, args, code) => {
    if (args[0] === "--timeout") server.setFault({ type: "slow", delayMs: 300 });
    if (code === 3) server.setFault({ type: "refuse" });
    const dir = tempDir("out-error");
    const result = await runLmc([...greedy(), "-o", join(dir, "out.txt"), ...args], { input: "My name is\n" });
    expect(result.code).toBe(code);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe("a full disk during the copy in place", () => {
  // A 256 KiB tmpfs of its own, in a user and mount namespace (no root needed), so
  // full that the temporary file fits but FILE's growth to the new length does not.
  it("leaves FILE as it was: its growth is written first, and taken back when the disk is full", async (context) => {
    const dir = tempDir("out-enospc");
    const mount = join(dir, "fs");
    mkdirSync(mount);
    const previous = "previous\n".repeat(900); // 8100 bytes
    writeFileSync(join(dir, "previous"), previous);
    server.setFault({ type: "flood", fragments: 20_000 }); // 100,000 bytes
    const script = [
      "fs=$1 previous=$2 host=$3; shift 3", // then the words that run lmc
      'mount -t tmpfs -o size=256k tmpfs "$fs" || exit 99',
      'cp "$previous" "$fs/out.txt"',
      'avail=$(df -k --output=avail "$fs" | tail -n 1)',
      'head -c $(( (avail - 140) * 1024 )) /dev/zero > "$fs/filler"', // 140 KiB left: the temporary file fits, twice it not
      '"$@" --host "$host" -n off hi -o "$fs/out.txt"',
      'echo "rc=$?"',
      'ls -A "$fs"',
      'cmp -s "$previous" "$fs/out.txt" && echo intact',
    ].join("\n");
    const child = spawn("unshare", ["-rm", "sh", "-c", script, "sh", mount, join(dir, "previous"), server.url, ...lmcCommand()], {
      env: cleanEnv(),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve).on("error", () => resolve(null)));
    if (code === null || code === 99 || !stdout.includes("rc=")) return context.skip(); // no user namespaces here
    expect(stdout).toBe("rc=1\nfiller\nout.txt\nintact\n");
    expect(stderr).toMatch(/^lmc: cannot write .*out\.txt: no space left on device\n$/);
  });
});
