// Every documented exit status, each with its one clear line on stderr.

import { closeSync, openSync, readdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closedPort } from "../closed-port.js";
import { startTestServer, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { expectOneErrorLine } from "./error-line.js";
import { runLmc } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterEach(() => server.setFault({ type: "none" }));
afterAll(() => server?.close());

describe("exit 2: usage errors, with nothing sent and nothing on stdout", () => {
  it.each<[string[], RegExp]>([
    [["--bogus", "hi"], /unknown option --bogus/],
    [["--max-token", "5", "hi"], /unknown option --max-token \(did you mean --max-tokens\?\)/],
    [["-n", "five", "hi"], /--max-tokens must be a whole number >= 1, or off, not "five"/],
    [["-t", "warm", "hi"], /--temperature must be a number >= 0, not "warm"/],
    [["--timeout", "-1", "hi"], /--timeout must be a number > 0/],
    [["--stop"], /option --stop needs a value/],
    [["--host", "ftp://x", "hi"], /--host must be a ws:\/\//],
    [[""], /the prompt is empty/],
  ])("%j", async (args, pattern) => {
    const before = server.received.length;
    const result = await runLmc(["--host", server.url, ...args]);
    expect(result.code).toBe(2);
    expect(result.stdout.length).toBe(0);
    expectOneErrorLine(result, pattern);
    expect(server.received.length).toBe(before);
  });

  it("reports a bad environment variable by name", async () => {
    const result = await runLmc(["hi"], { env: { LMC_MAX_TOKENS: "lots", LMC_HOST: server.url } });
    expect(result.code).toBe(2);
    expectOneErrorLine(result, /LMC_MAX_TOKENS must be a whole number/);
  });
});

describe("exit 3: LM Studio unreachable", () => {
  it("names the address when nothing listens there, within a couple of seconds", async () => {
    const port = await closedPort();
    const result = await runLmc(["--host", `ws://127.0.0.1:${port}`, "hi"]);
    expect(result.code).toBe(3);
    expect(result.elapsedMs).toBeLessThan(3000);
    expect(result.stdout.length).toBe(0);
    expectOneErrorLine(result, new RegExp(`cannot reach LM Studio at ws://127.0.0.1:${port} .*lms server start.*lms daemon up`));
  });

  // LMC_LOCAL_PORTS points the search at ports known to be closed: an LM Studio running
  // on this machine (on 1234) must not change the outcome.
  it("says how to start LM Studio when none is found on this machine", async () => {
    const ports = [await closedPort(), await closedPort()];
    const result = await runLmc(["hi"], { env: { LMC_LOCAL_PORTS: ports.join(",") } });
    expect(result.code).toBe(3);
    expect(result.elapsedMs).toBeLessThan(3000);
    expectOneErrorLine(
      result,
      new RegExp(`cannot find LM Studio on this machine \\(tried 127.0.0.1 ports ${ports.join(", ")}\\): .*lms server start.*lms daemon up.*--host / LMC_HOST`),
    );
  });

  it("finds the local server on the ports it looks at", async () => {
    const port = new URL(server.url).port;
    const result = await runLmc(["-n", "2", "-v", "hi"], { env: { LMC_LOCAL_PORTS: `${await closedPort()},${port}` } });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`lmc: using LM Studio at ws://127.0.0.1:${port}\n`);
  });

  it.each(["wss", "https"])("names a TLS mismatch: %s:// to a plain ws:// server", async (scheme) => {
    const host = server.url.replace(/^ws/, scheme);
    const result = await runLmc(["--host", host, "hi"]);
    expect(result.code).toBe(3);
    expect(result.stdout.length).toBe(0);
    const wss = server.url.replace(/^ws/, "wss").replace(/[.]/g, "\\.");
    expectOneErrorLine(result, new RegExp(`^lmc: cannot reach LM Studio at ${wss} \\(TLS handshake failed: is the server plain ws://\\?\\)$`));
  });

  it("when the server drops every connection", async () => {
    server.setFault({ type: "refuse" });
    const result = await runLmc(["--host", server.url, "hi"]);
    expect(result.code).toBe(3);
    expectOneErrorLine(result, /cannot reach LM Studio at/);
  });

  it("when an HTTP server that is not LM Studio answers", async () => {
    const http = (await import("node:http")).createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    const { port } = http.address() as { port: number };
    const result = await runLmc(["--host", `127.0.0.1:${port}`, "hi"]);
    http.close();
    expect(result.code).toBe(3);
    expectOneErrorLine(result, /cannot reach LM Studio at ws:\/\/127.0.0.1:\d+/);
  });
});

describe("exit 4: no such model, or none loaded", () => {
  it("names the key and lists what is downloaded", async () => {
    const result = await runLmc(["--host", server.url, "-m", "gpt-17", "hi"]);
    expect(result.code).toBe(4);
    expect(result.stdout.length).toBe(0);
    expectOneErrorLine(result, /model "gpt-17" not found; downloaded models: .*lmc-tiny/);
  });

  it("says so when no model is loaded", async () => {
    server.setFault({ type: "nothingLoaded" });
    const result = await runLmc(["--host", server.url, "hi"]);
    expect(result.code).toBe(4);
    expectOneErrorLine(result, /no model is loaded in LM Studio.*--model/);
  });
});

describe("exit 1: the prediction failed", () => {
  it.each([[["-"]], [["-", "and words"]], [["--each"]], [["--each-file"]], [["--each-jsonl"]]])(
    "says so when stdin is a directory (lmc %j < folder), which Node would read as empty, as cat does",
    async (args) => {
      const folder = openSync(tmpdir(), "r");
      try {
        const before = server.received.length;
        const result = await runLmc(["--host", server.url, ...args], { stdin: folder });
        expect(result.code).toBe(1);
        expect(result.stdout.length).toBe(0);
        expectOneErrorLine(result, /^lmc: cannot read stdin: is a directory$/);
        expect(server.received.length).toBe(before);
      } finally {
        closeSync(folder);
      }
    },
  );

  it("passes on LM Studio's reason", async () => {
    server.setFault({ type: "predictionError", title: "The model crashed" });
    const result = await runLmc(["--host", server.url, "hi"]);
    expect(result.code).toBe(1);
    expectOneErrorLine(result, /the prediction failed: The model crashed/);
  });

  it("keeps the partial output when the connection breaks mid-stream", async () => {
    server.setFault({ type: "dieMidStream", afterFragments: 5 });
    const result = await runLmc(["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "40", "My name is"]);
    expect(result.code).toBe(1);
    expect(result.text.length).toBeGreaterThan(0);
    expectOneErrorLine(result, /the connection to LM Studio at ws:\/\/127.0.0.1:\d+ was lost mid-stream/);
  });

  it.each([[["-n", "3", "hi"]], [["-n", "3", "--no-stream", "hi"]], [["-n", "3", "--each", "--no-stats"]], [["--list"]]])(
    "says so in words when stdout cannot be written (lmc %j > /dev/full)",
    async (args) => {
      const full = openSync("/dev/full", "w");
      try {
        const result = await runLmc(["--host", server.url, ...args], { stdout: full, input: "hi\n" });
        expect(result.code).toBe(1);
        expectOneErrorLine(result, /^lmc: cannot write stdout: no space left on device$/);
      } finally {
        closeSync(full);
      }
    },
  );

  it.each([[["-"]], [["--each"]], [["--each-file"]]])(
    "says in words that stdin cannot be read (lmc %j 0> file: a descriptor open for writing only)",
    async (args) => {
      const writeOnly = openSync(join(tempDir("stdin"), "written"), "w");
      try {
        const before = server.received.length;
        const result = await runLmc(["--host", server.url, ...args], { stdin: writeOnly });
        expect(result.code).toBe(1);
        expectOneErrorLine(result, /^lmc: cannot read stdin: bad file descriptor$/);
        expect(server.received.length).toBe(before);
      } finally {
        closeSync(writeOnly);
      }
    },
  );
});

describe("a file that cannot be opened is said as cat says it, the same for every option", () => {
  // Node words these two as libuv does ("too many symbolic links encountered", "name
  // too long"); lmc's own check of -o's links said "too many levels of symbolic links".
  const cases: [string, (dir: string) => string, string][] = [
    ["a loop of symbolic links", (dir) => join(dir, "loop", "x"), "too many levels of symbolic links"],
    ["a name too long", (dir) => join(dir, "n".repeat(300)), "file name too long"],
  ];
  const options: [string, (path: string) => string[], number][] = [
    ["-o", (path) => ["-o", path, "hi"], 1],
    ["--schema", (path) => ["--schema", path, "hi"], 2],
    ["--resume", (path) => ["--each", "--resume", path], 1],
  ];
  it.each(cases.flatMap(([what, path, words]) => options.map(([option, args, status]) => [option, what, path, words, args, status] as const)))(
    "%s: %s",
    async (option, _, pathIn, words, args, status) => {
      const dir = tempDir("errno");
      symlinkSync("loop", join(dir, "loop"));
      const path = pathIn(dir);
      const result = await runLmc(["--host", server.url, "-n", "2", ...args(path)], { input: "hi\n" });
      expect(result.code).toBe(status);
      expect(result.stdout.length).toBe(0);
      const prefix = option === "-o" ? "cannot write" : `${option}: cannot read`;
      expectOneErrorLine(result, new RegExp(`^lmc: ${prefix} ${path}: ${words}( \\(see lmc --help\\))?$`));
      expect(readdirSync(dir)).toEqual(["loop"]);
    },
  );

  it.each(cases)("--each-file: %s is the item's error", async (_, pathIn, words) => {
    const dir = tempDir("errno");
    symlinkSync("loop", join(dir, "loop"));
    const path = pathIn(dir);
    const result = await runLmc(["--host", server.url, "-n", "2", "--each-file", path]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.text)).toEqual({ index: 0, file: path, error: `cannot read ${path}: ${words}`, status: 2 });
  });
});

describe("exit 124: --timeout", () => {
  it("gives up on a server that never answers", async () => {
    server.setFault({ type: "hang" });
    const result = await runLmc(["--host", server.url, "--timeout", "1", "hi"]);
    expect(result.code).toBe(124);
    expect(result.elapsedMs).toBeLessThan(5000);
    expectOneErrorLine(result, /no answer within 1 s/);
  });

  it("keeps what was streamed before the deadline", async () => {
    server.setFault({ type: "slow", delayMs: 200 });
    const result = await runLmc(["--host", server.url, "-n", "100", "--timeout", "1", "My name is"]);
    expect(result.code).toBe(124);
    expect(result.text.length).toBeGreaterThan(0);
    expectOneErrorLine(result, /^lmc: the deadline of 1 s \(--timeout\) passed mid-completion$/);
  });
});

describe("exit 130 and 141: Ctrl-C and a closed stdout cancel the prediction", () => {
  it("Ctrl-C", async () => {
    server.setFault({ type: "slow", delayMs: 100 });
    const result = await runLmc(["--host", server.url, "-n", "200", "My name is"], {
      onSpawn: (child) => child.stdout!.once("data", () => child.kill("SIGINT")),
    });
    expect(result.code).toBe(130);
    expectOneErrorLine(result, /interrupted/);
    expect(server.received.at(-1)!.cancelled).toBe(true);
  });

  it("a reader that goes away (lmc | head -c 20)", async () => {
    server.setFault({ type: "slow", delayMs: 50 });
    const result = await runLmc(["--host", server.url, "-n", "200", "My name is"], {
      onSpawn: (child) => child.stdout!.once("data", () => child.stdout!.destroy()),
    });
    expect(result.code).toBe(141);
    expect(result.stderr).toBe("");
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(server.received.at(-1)!.cancelled).toBe(true);
  });
});
