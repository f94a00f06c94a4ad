// main(io) run inside the test, with fake streams: which action a command line
// leads to, its exit status, and what goes to stdout and what to stderr. No process
// is spawned; the end-to-end tests (test/e2e) keep what needs one.

import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitCode } from "../../src/errors.js";
import type { Environment, Io } from "../../src/io.js";
import { main, version } from "../../src/main.js";
import { closedPort } from "../closed-port.js";
import { startTestServer, type TestServer } from "../server/server.js";

interface Run {
  code: ExitCode;
  stdout: string;
  stderr: string;
  /** Whether the run touched stdin at all. */
  stdinTouched: boolean;
  v8Flags: string[];
}

/** Runs main() with `argv`, `env`, and `stdin` as the whole of stdin; nothing is a terminal. */
async function run(argv: string[], { env = {}, stdin = "" }: { env?: Environment; stdin?: string } = {}): Promise<Run> {
  const collect = () => {
    const stream = Object.assign(new PassThrough(), { isTTY: false });
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    return { stream: stream as unknown as NodeJS.WriteStream, text: () => Buffer.concat(chunks).toString() };
  };
  const [stdout, stderr] = [collect(), collect()];
  const input = new PassThrough();
  input.end(stdin);
  let stdinTouched = false;
  const v8Flags: string[] = [];
  const io: Io = {
    argv,
    env,
    get stdin() {
      stdinTouched = true;
      return input as unknown as NodeJS.ReadStream;
    },
    stdout: stdout.stream,
    stderr: stderr.stream,
    print: async (text) => void stdout.stream.write(text),
    nodeVersion: process.versions.node,
    setV8Flags: (flags) => void v8Flags.push(flags),
    umask: 0o022,
    onInterrupt: () => () => {},
  };
  const code = await main(io);
  await new Promise((resolve) => setImmediate(resolve));
  return { code, stdout: stdout.text(), stderr: stderr.text(), stdinTouched, v8Flags };
}

describe("main(io), without LM Studio", () => {
  const cases: Array<[string, string[], Environment, { code: ExitCode; stdout: RegExp; stderr: RegExp }]> = [
    ["--help: the usage on stdout", ["--help"], {}, { code: ExitCode.ok, stdout: /^Usage: lmc /m, stderr: /^$/ }],
    ["--help --all", ["--help", "--all"], {}, { code: ExitCode.ok, stdout: /--option KEY=VALUE/, stderr: /^$/ }],
    ["--version", ["--version"], {}, { code: ExitCode.ok, stdout: new RegExp(`^lmc ${version}\\n$`), stderr: /^$/ }],
    ["--completion bash", ["--completion", "bash"], {}, { code: ExitCode.ok, stdout: /complete -F _lmc lmc/, stderr: /^$/ }],
    ["--completion fish", ["--completion", "fish"], {}, { code: ExitCode.ok, stdout: /^complete -c lmc /m, stderr: /^$/ }],
    ["--help wins over the other actions", ["--list", "--version", "--help"], {}, { code: ExitCode.ok, stdout: /^Usage: lmc /m, stderr: /^$/ }],
    [
      "a shell it does not know",
      ["--completion", "tcsh"],
      {},
      { code: ExitCode.usage, stdout: /^$/, stderr: /^lmc: --completion takes bash, zsh, fish, not "tcsh" \(see lmc --help\)\n$/ },
    ],
    ["an unknown option", ["--frobnicate"], {}, { code: ExitCode.usage, stdout: /^$/, stderr: /^lmc: .*--frobnicate.* \(see lmc --help\)\n$/ }],
    [
      "a bad environment variable",
      ["hi"],
      { LMC_TIMEOUT: "soon" },
      { code: ExitCode.usage, stdout: /^$/, stderr: /^lmc: LMC_TIMEOUT .* \(see lmc --help\)\n$/ },
    ],
    [
      "a malformed token breaks a completion",
      ["hi"],
      { LM_API_TOKEN: "nope" },
      { code: ExitCode.usage, stdout: /^$/, stderr: /^lmc: LM_API_TOKEN does not look like an LM Studio API token/ },
    ],
    ["but not --version", ["--version"], { LM_API_TOKEN: "nope" }, { code: ExitCode.ok, stdout: /^lmc /, stderr: /^$/ }],
    [
      "several hosts outside batch mode",
      ["-H", "h:1", "-H", "h:2", "hi"],
      {},
      { code: ExitCode.usage, stdout: /^$/, stderr: /^lmc: several LM Studio hosts need batch mode/ },
    ],
  ];
  for (const [name, argv, env, expected] of cases) {
    it(name, async () => {
      const result = await run(argv, { env });
      expect(result).toMatchObject({ code: expected.code });
      expect(result.stdout).toMatch(expected.stdout);
      expect(result.stderr).toMatch(expected.stderr);
    });
  }

  it("reads no stdin for --help, --version or a prompt of words", async () => {
    for (const argv of [["--help"], ["--version"], ["-H", `127.0.0.1:${await closedPort()}`, "hi"]]) {
      expect((await run(argv)).stdinTouched, argv.join(" ")).toBe(false);
    }
  });

  it("an empty prompt on stdin is a usage error, before LM Studio is looked for", async () => {
    const result = await run([], { stdin: "", env: { LMC_LOCAL_PORTS: String(await closedPort()) } });
    expect(result).toMatchObject({ code: ExitCode.usage, stdout: "", stdinTouched: true });
    expect(result.stderr).toBe("lmc: the prompt is empty: stdin gave nothing (see lmc --help)\n");
  });

  it("no LM Studio on this machine: status 3, one line on stderr", async () => {
    const port = await closedPort();
    const result = await run(["--list"], { env: { LMC_LOCAL_PORTS: String(port) } });
    expect(result).toMatchObject({ code: ExitCode.unreachable, stdout: "" });
    expect(result.stderr).toMatch(new RegExp(`^lmc: cannot find LM Studio on this machine \\(tried 127\\.0\\.0\\.1 ports ${port}\\)[^\\n]*\\n$`));
  });
});

describe("main(io) against the test server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ quiet: true });
  });
  afterAll(() => server?.close());

  it("a completion: the text on stdout, the stats line on stderr", async () => {
    const result = await run(["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "8", "My name is"]);
    expect(result.code).toBe(ExitCode.ok);
    // Greedy sampling: the same text as the batch record of the same prompt, through another path.
    const batch = await run(["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "8", "--each"], { stdin: "My name is\n" });
    const record = JSON.parse(batch.stdout) as { completion: string };
    expect(record.completion).not.toBe("");
    expect(result.stdout).toBe(record.completion);
    const stats = JSON.parse(result.stderr) as { predictedTokensCount: number; model: { key: string } };
    expect(stats).toMatchObject({ predictedTokensCount: 8, model: { key: "lmc-tiny" } });
  });

  it("batch mode: records on stdout, the summary on stderr, the heap flag set through Io", async () => {
    const result = await run(["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "4", "--each"], { stdin: "a\nb\n" });
    expect(result.code).toBe(ExitCode.ok);
    expect(
      result.stdout
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line).index),
    ).toEqual([0, 1]);
    expect(JSON.parse(result.stderr)).toMatchObject({ items: 2, failures: 0 });
    expect(result.v8Flags).toEqual(["--heap-growing-percent=30"]);
  });
});
