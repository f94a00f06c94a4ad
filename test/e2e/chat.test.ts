// --chat, --system, --system-file and --show-prompt, as the server sees them: the
// prompt the server receives is the tiny model's own ChatML template rendered by the
// server (node-llama-cpp), in single runs and batch mode, and the errors of models
// whose template is missing or broken.

import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultCatalog, promptTemplateCatalog } from "../server/model-catalog.js";
import { startTestServer, type TestServer } from "../server/server.js";
import { closedPort } from "../closed-port.js";
import { tempDir } from "../temp-dir.js";
import { runLmc, spawnLmc, statsOf } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true, models: [...defaultCatalog(), ...promptTemplateCatalog()] });
}, 60_000);
afterAll(() => server?.close());

/** What the tiny model's template makes of a chat (test/server/prompt-template.test.ts pins it against the SDK). */
const chatml = (user: string, system?: string) =>
  `<s>${system === undefined ? "" : `<|im_start|>system\n${system}<|im_end|>\n`}<|im_start|>user\n${user}<|im_end|>\n<|im_start|>assistant\n`;

/** The prompts of the completions the server received since `from` (model lookups are received requests too). */
const promptsSince = (from: number) =>
  server.received
    .slice(from)
    .filter((r) => r.channel !== "getOrLoad")
    .map((r) => r.prompt);
const lastPrompt = () => promptsSince(0).at(-1);
const completions = () => promptsSince(0).length;
// Three models are loaded: the one with the working template is named (a later -m wins).
const lmc = (args: string[], input?: string) => runLmc(["--host", server.url, "-m", "lmc-tiny", "--max-tokens", "3", ...args], { input });
const errorLines = (stderr: string) => stderr.split("\n").filter((line) => line.startsWith("lmc:"));

describe("--chat in a single run", () => {
  it.each<[string, string[], string | undefined, string]>([
    ["makes the words one user message", ["--chat", "My", "name", "is"], undefined, chatml("My name is")],
    ["takes -c, and stdin where - stands", ["-c", "Summarize:", "-"], "The article.\n", chatml("Summarize: The article.")],
    ["puts --system before it", ["--chat", "--system", "Write one line.", "My name is"], undefined, chatml("My name is", "Write one line.")],
    ["keeps odd text as text", ["--chat", "--system", "__proto__\n{{ x }}", "<|im_end|> 日本"], undefined, chatml("<|im_end|> 日本", "__proto__\n{{ x }}")],
  ])("%s", async (_, args, input, expected) => {
    const result = await lmc(args, input);
    expect(result.stderr).not.toMatch(/^lmc:/m);
    expect(result.code).toBe(0);
    expect(lastPrompt()).toBe(expected);
    // The stats are a completion's, as without --chat: the formatted prompt is what was read.
    expect(statsOf(result).stopReason).toBeDefined();
  });

  it("reads --system-file, its last newline and byte-order mark dropped", async () => {
    const file = join(tempDir("chat-system"), "system.txt");
    writeFileSync(file, "\ufeffYou write commit messages.\nOne line.\n");
    const result = await lmc(["--chat", "--system-file", file, "My name is"]);
    expect(result.code).toBe(0);
    expect(lastPrompt()).toBe(chatml("My name is", "You write commit messages.\nOne line."));
  });

  it("reads --system-file from a FIFO, and a FIFO no one writes ends on SIGTERM", async () => {
    const dir = tempDir("chat-fifo");
    const fifo = join(dir, "system");
    execFileSync("mkfifo", [fifo]); // Node has no mkfifo of its own
    const child = spawnLmc(["--host", server.url, "-m", "lmc-tiny", "-n", "1", "--chat", "--system-file", fifo, "My name is"]);
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill("SIGTERM");
    expect(await exited).toBe(143);
  });

  it("--echo writes the formatted prompt, the text the model continues, before the completion", async () => {
    const result = await lmc(["--chat", "--echo", "--no-stats", "My name is"]);
    expect(result.code).toBe(0);
    expect(result.text.startsWith(chatml("My name is"))).toBe(true);
    expect(result.text.length).toBeGreaterThan(chatml("My name is").length);
  });

  it("-o gets the completion alone, and streaming is as without --chat", async () => {
    const out = join(tempDir("chat-output"), "out.txt");
    const result = await lmc(["--chat", "-t", "0", "-o", out, "My name is"]);
    expect(result.code).toBe(0);
    expect(result.text).toBe("");
    const streamed = await lmc(["--chat", "-t", "0", "--no-stats", "My name is"]);
    expect(readFileSync(out, "utf8")).toBe(streamed.text);
  });

  it("a server that never answers the template call ends with --timeout (124), not a hang", async () => {
    const own = await startTestServer({ quiet: true });
    own.setFault({ type: "unansweredRpc", endpoints: ["applyPromptTemplate"] });
    try {
      const result = await runLmc(["--host", own.url, "--chat", "--timeout", "1", "My name is"]);
      expect(result.code).toBe(124);
      expect(errorLines(result.stderr)).toHaveLength(1);
      for (const args of [["--chat"], ["--chat", "--show-prompt"]]) {
        const silent = await runLmc(["--host", own.url, ...args, "--idle-timeout", "1", "My name is"]);
        expect(silent.code).toBe(3);
        expect(errorLines(silent.stderr)).toEqual([expect.stringMatching(/^lmc: LM Studio at .* did not answer for 1 s \(--idle-timeout\)/)]);
        expect(silent.text).toBe("");
      }
      // SIGTERM while lmc waits on the template ends the run at once.
      const terminated = await runLmc(["--host", own.url, "--chat", "My name is"], { onSpawn: (child) => setTimeout(() => child.kill("SIGTERM"), 1000) });
      expect(terminated.code).toBe(143);
    } finally {
      await own.close();
    }
  }, 20_000);
});

describe("--show-prompt", () => {
  it("writes the raw prompt without asking LM Studio, without --chat", async () => {
    const result = await runLmc(["--host", `ws://127.0.0.1:${await closedPort()}`, "--show-prompt", "My", "-"], { input: "name is\n" });
    expect(result.code).toBe(0);
    expect(result.text).toBe("My name is");
    expect(result.stderr).toBe("");
  });

  it("writes the formatted prompt with --chat, and predicts nothing", async () => {
    const before = completions();
    const result = await lmc(["--chat", "--system", "Be brief.", "--show-prompt", "My name is"]);
    expect(result.code).toBe(0);
    expect(result.text).toBe(chatml("My name is", "Be brief."));
    expect(result.stderr).toBe("");
    expect(completions()).toBe(before);
  });

  it("is what a completion sends", async () => {
    const shown = await lmc(["-c", "--show-prompt", "Tell me"]);
    await lmc(["-c", "Tell me"]);
    expect(lastPrompt()).toBe(shown.text);
  });
});

describe("errors in words", () => {
  it.each<[string, string[], number, RegExp]>([
    [
      "a model without a template",
      ["-m", "lmc-tiny-no-template", "--chat", "Hi"],
      1,
      /^lmc: the model "lmc-tiny-no-template" has no prompt template, so --chat cannot format the prompt: give the prompt in the model's own format without --chat$/,
    ],
    [
      "a template that fails to render",
      ["-m", "lmc-tiny-broken-template", "--chat", "Hi"],
      1,
      /^lmc: the prompt template of the model "lmc-tiny-broken-template" failed to render \(TypeError: Cannot read properties of undefined \(reading 'type'\)\): give the prompt in the model's own format without --chat$/,
    ],
    ["--show-prompt of a model without a template", ["-m", "lmc-tiny-no-template", "--chat", "--show-prompt", "Hi"], 1, /has no prompt template/],
    ["--system without --chat", ["--system", "Be brief.", "Hi"], 2, /^lmc: --system goes with --chat/],
    ["--system-file without --chat", ["--system-file", "x.txt", "Hi"], 2, /^lmc: --system-file goes with --chat/],
    ["--system and --system-file", ["--chat", "--system", "a", "--system-file", "x.txt", "Hi"], 2, /^lmc: --system and --system-file cannot go together/],
    ["an empty --system", ["--chat", "--system", "", "Hi"], 2, /^lmc: --system must be a non-empty string/],
    [
      "a --system-file that is not there",
      ["--chat", "--system-file", "/nonexistent/system.txt", "Hi"],
      2,
      /^lmc: --system-file: cannot read \/nonexistent\/system.txt: /,
    ],
    ["a --system-file that is a folder", ["--chat", "--system-file", "/", "Hi"], 2, /^lmc: --system-file: cannot read \/: is a directory/],
    ["--show-prompt with -o", ["--show-prompt", "-o", "x.txt", "Hi"], 2, /^lmc: --show-prompt writes to stdout/],
    ["--show-prompt in batch mode", ["--show-prompt", "--each"], 2, /^lmc: --show-prompt goes with a single completion/],
  ])("%s", async (_, args, status, message) => {
    const before = completions();
    const result = await lmc(args, "");
    expect(result.code).toBe(status);
    const lines = errorLines(result.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(result.text).toBe("");
    expect(completions()).toBe(before);
  });

  it("a --system-file of more than 32 MiB is refused before LM Studio is asked", async () => {
    const file = join(tempDir("chat-large"), "big.txt");
    writeFileSync(file, Buffer.alloc(32 * 1024 * 1024 + 1, "a"));
    const result = await runLmc(["--host", `ws://127.0.0.1:${await closedPort()}`, "--chat", "--system-file", file, "Hi"]);
    expect(result.code).toBe(2);
    expect(errorLines(result.stderr)).toEqual([`lmc: --system-file: ${file} is too large for a prompt (more than 32 MiB) (see lmc --help)`]);
  });
});

describe("--chat in batch mode", () => {
  const records = (stdout: string) =>
    stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it("formats every item", async () => {
    const before = server.received.length;
    const result = await lmc(["--each", "--chat", "--system", "Be brief.", "-P", "2"], "first\nsecond\n");
    expect(result.code).toBe(0);
    const prompts = promptsSince(before);
    expect(prompts.sort()).toEqual([chatml("first", "Be brief."), chatml("second", "Be brief.")].sort());
    expect(records(result.text).map((r) => r.index)).toEqual([0, 1]);
  });

  it("lets a JSON Lines item choose chat and its system message", async () => {
    const items = [
      { id: "raw", prompt: "a", chat: false },
      { id: "own system", prompt: "b", system: "S" },
      { id: "run's system", prompt: "c" },
    ];
    const before = server.received.length;
    const result = await lmc(["--each-jsonl", "--chat", "--system", "Run.", "-P", "1"], items.map((item) => JSON.stringify(item)).join("\n"));
    expect(result.code).toBe(0);
    expect(promptsSince(before)).toEqual(["a", chatml("b", "S"), chatml("c", "Run.")]);
  });

  it("chats per item without --chat, and refuses what cannot be", async () => {
    const lines = [
      JSON.stringify({ prompt: "a", chat: true, system: "S" }),
      JSON.stringify({ prompt: "b" }),
      JSON.stringify({ prompt: "c", system: "S" }),
      JSON.stringify({ prompt: "d", chat: "yes" }),
      JSON.stringify({ prompt: "e", system: 3 }),
      JSON.stringify({ prompt: "f", chat: true, model: "lmc-tiny-no-template" }),
    ];
    const before = server.received.length;
    const result = await lmc(["--each-jsonl", "-P", "1"], lines.join("\n"));
    expect(result.code).toBe(1);
    expect(promptsSince(before)).toEqual([chatml("a", "S"), "b"]);
    const [a, b, c, d, e, f] = records(result.text);
    expect(a?.completion).toEqual(expect.any(String));
    expect(b?.completion).toEqual(expect.any(String));
    expect(c).toMatchObject({ index: 2, error: `"system" goes with --chat or "chat": true`, status: 2 });
    expect(d).toMatchObject({ index: 3, error: `line 4: "chat" must be true or false`, status: 2 });
    expect(e).toMatchObject({ index: 4, error: `line 5: "system" must be a non-empty string`, status: 2 });
    expect(f).toMatchObject({ index: 5, status: 1 });
    expect(f?.error).toMatch(/^the model "lmc-tiny-no-template" has no prompt template/);
  });

  it("reads --system-file once for every item", async () => {
    const file = join(tempDir("chat-batch-system"), "system.txt");
    writeFileSync(file, "From a file.\n");
    const before = server.received.length;
    const result = await lmc(["--each", "--chat", "--system-file", file, "-P", "1"], "x\ny\n");
    expect(result.code).toBe(0);
    expect(promptsSince(before)).toEqual([chatml("x", "From a file."), chatml("y", "From a file.")]);
  });
});
