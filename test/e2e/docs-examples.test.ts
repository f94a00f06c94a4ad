// Every shell example in README.md and man/lmc.1, run as written against the test
// server, with `lmc` on the PATH and LMC_HOST pointing at the server. The few that
// cannot run here are listed with the reason. Examples of output in the docs are
// compared with real output.

import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultCatalog, TINY_MODEL_PATH } from "../server/model-catalog.js";
import { startTestServer, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { cleanEnv, lmcBin, runLmc } from "./lmc-process.js";

const readme = readFileSync("README.md", "utf8");
const man = readFileSync("man/lmc.1", "utf8");

/** The fenced blocks of one language in the README. */
function readmeBlocks(language: string): string[] {
  return [...readme.matchAll(new RegExp("^```" + language + "\\n([\\s\\S]*?)^```$", "gm"))].map((m) => m[1]!);
}

/** The man page's .EX blocks, with roff's escapes undone. */
function manBlocks(): string[] {
  return [...man.matchAll(/^\.EX\n([\s\S]*?)^\.EE$/gm)].map((m) => m[1]!.replace(/\\-/g, "-").replace(/\\e/g, "\\"));
}

/** Commands, one a line; a line ending in | or \ goes on on the next. */
function commands(block: string): string[] {
  return block
    .replace(/(\||\\)\n\s*/g, (_, end: string) => (end === "|" ? "| " : ""))
    .split("\n")
    .filter((line) => line.trim() !== "");
}

const hasCommand = (name: string) => {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

/** Examples that do not run here, and why. */
const notRunHere: Array<[RegExp, string]> = [
  [/^npm ci/, "installs and builds from scratch: .ci/run does that"],
  [/^npm test/, "is this test suite"],
  [/^npm link/, "changes the global npm prefix: test/e2e/npm-package.test.ts installs the packed tarball instead"],
  [/^npm run (package|test:sea)/, "builds the 88 MB single executable: test/e2e/single-executable.test.ts covers it"],
  [/^npm run server/, "serves in the foreground: test/e2e/getting-started.test.ts runs it"],
  [/^man /, "opens a pager: the man page lint checks the page"],
  [/--completion (bash|zsh|fish)/, "writes the user's shell configuration: test/e2e/completion.test.ts loads the scripts"],
  ...(hasCommand("parallel") ? [] : [[/^parallel /, "GNU parallel is not installed"] as [RegExp, string]]),
];

let server: TestServer;
let plain: TestServer;
beforeAll(async () => {
  // The examples name qwen2.5-7b-instruct, a real model; here it is the tiny model under that key.
  server = await startTestServer({
    quiet: true,
    models: [...defaultCatalog(), { key: "qwen2.5-7b-instruct", path: TINY_MODEL_PATH, loaded: false }],
  });
  plain = await startTestServer({ quiet: true });
});
afterAll(async () => {
  await server?.close();
  await plain?.close();
});

/** A folder with the files the examples read, and `lmc` on the PATH; for `git diff`, a repository with a change. */
function workspace(command = ""): { dir: string; env: Record<string, string | undefined> } {
  const dir = tempDir("docs-examples");
  const bin = join(dir, ".bin");
  mkdirSync(bin);
  const run = lmcBin.endsWith(".cjs") ? `"${process.execPath}" "${lmcBin}"` : `"${lmcBin}"`;
  writeFileSync(join(bin, "lmc"), `#!/bin/sh\nexec ${run} "$@"\n`, { mode: 0o755 });
  const files: Record<string, string> = {
    "article.txt": "The town by the harbour has a baker.\n",
    "prompts.txt": "My name is\nOnce upon a time\nI like\n",
    "descriptions.txt": "A baker in the town.\nA ship in the harbour.\n",
    "requests.jsonl": '{"prompt": "My name is", "maxTokens": 40, "stop": "."}\n{"prompt": "I like"}\n',
    "chapters/one.md": "My name is\n",
    "chapters/two.md": "Once upon a time\n",
    "notes/a.txt": "I like the town\n",
    "notes/b.txt": "My name is\n",
    "notes.txt": "a baker, a ship, a town\n",
    "in.txt": "My name is\nI like\n",
  };
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  if (/\bgit diff\b/.test(command)) {
    const git = (...args: string[]) => execFileSync("git", ["-c", "user.name=lmc", "-c", "user.email=lmc@example.com", ...args], { cwd: dir, stdio: "ignore" });
    git("init", "-q");
    git("add", "notes.txt");
    git("commit", "-qm", "notes");
    writeFileSync(join(dir, "notes.txt"), "a baker, a ship, a town, a harbour\n");
  }
  // Greedy, so that what an example writes can be compared with single runs.
  const env = { ...cleanEnv(), PATH: `${bin}:${process.env.PATH}`, LMC_HOST: server.url, LMC_TEMPERATURE: "0" };
  return { dir, env };
}

const sh = promisify(execFile);
async function shell(command: string, dir: string, env: Record<string, string | undefined>) {
  return sh("bash", ["-c", command], { cwd: dir, env, timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code?: number; stdout: string; stderr: string }) => ({ code: error.code ?? -1, stdout: error.stdout, stderr: error.stderr }),
  );
}

/** What lmc completes for one prompt alone, greedy. */
async function single(args: string[]): Promise<string> {
  return (await runLmc(["--host", server.url, "-t", "0", "--no-stats", ...args])).text;
}

const examples = [
  ...readmeBlocks("sh").flatMap((block) => commands(block).map((command) => ["README.md", command] as const)),
  ...manBlocks()
    .filter((block) => !/^\S+: /.test(block)) // the Makefile, run below
    .flatMap((block) => commands(block).map((command) => ["man/lmc.1", command] as const)),
];

describe.each(examples)("%s: %s", (_, command) => {
  const reason = notRunHere.find(([pattern]) => pattern.test(command))?.[1];
  it.skipIf(reason !== undefined)(
    `runs${reason ? ` (not here: ${reason})` : ""}`,
    async () => {
      const { dir, env } = workspace(command);
      const slow = /xargs -0 -P 4/.test(command);
      // Slow fragments make four completions overlap, as with a real model.
      if (slow) server.setFault({ type: "slow", delayMs: 10 });
      const before = server.received.length;
      const result = await shell(command.replace(/PORT/g, String(server.port)), dir, env).finally(() => {
        if (slow) server.setFault({ type: "none" });
      });
      expect(result.stderr).not.toMatch(/^lmc: /m);
      expect(result.code).toBe(0);
      const prompts = server.received
        .slice(before)
        .filter((r) => r.channel !== "getOrLoad")
        .map((r) => r.prompt);
      // Every example but a bare listing and a prompt shown without predicting completes something.
      if (/--show-prompt/.test(command)) {
        expect(prompts).toEqual([]);
        expect(result.stdout).toMatch(/^<s><\|im_start\|>user\n/);
      } else if (!/^lmc --list --json \| jq -r '[^']*'$/.test(command)) expect(prompts.length).toBeGreaterThan(0);

      if (/^git diff \| lmc --chat/.test(command)) {
        // The diff, one user message after the system message, in the model's own template.
        expect(prompts).toHaveLength(1);
        expect(prompts[0]).toMatch(/^<s><\|im_start\|>system\nWrite a one-line commit message\.<\|im_end\|>\n<\|im_start\|>user\ndiff --git /);
        expect(prompts[0]).toContain("+a baker, a ship, a town, a harbour");
      }
      if (/^find notes .*--each-file/.test(command)) {
        // The files' contents are the prompts, not their names.
        expect(prompts.sort()).toEqual(["I like the town", "My name is"]);
      }
      if (slow) {
        // Each input file's completion whole in its own file, however the four runs overlapped, and nothing on stdout.
        expect(result.stdout).toBe("");
        for (const name of ["notes/a.txt", "notes/b.txt"]) {
          const text = readFileSync(join(dir, name), "utf8").trim();
          expect(readFileSync(join(dir, `${name}.tldr`), "utf8")).toBe(await single(["-n", "100", text, "TL;DR:"]));
        }
      }
    },
    90_000,
  );
});

it.skipIf(!hasCommand("make"))(
  "README.md and man/lmc.1: the Makefile recipe makes its target",
  async () => {
    const recipes = [...readmeBlocks("make"), ...manBlocks().filter((block) => /^\S+: /.test(block))];
    expect(recipes.length).toBe(2);
    for (const recipe of recipes) {
      const { dir, env } = workspace();
      writeFileSync(join(dir, "Makefile"), recipe.replace(/^ {2,}|^\t/gm, "\t"));
      const result = await shell("make notes.md && cat notes.md", dir, env);
      expect(result.code).toBe(0);
      expect(result.stdout.length).toBeGreaterThan(0);
    }
  },
  60_000,
);

describe("output shown in README.md", () => {
  it("the stats line: the documented command gives these fields and values (times aside)", async () => {
    const shown = JSON.parse(readmeBlocks("json").find((block) => block.includes('"stopReason"'))!);
    const command = readme.match(/From\s+`(echo "My name is" \| lmc [^`]*)`/)![1]!;
    const { dir, env } = workspace();
    const result = await shell(command, dir, { ...env, LMC_HOST: plain.url });
    const real = JSON.parse(result.stderr);
    const times = ["timeToFirstTokenSec", "tokensPerSecond", "totalTimeSec"];
    expect(Object.keys(real)).toEqual(Object.keys(shown));
    for (const key of Object.keys(shown).filter((key) => !times.includes(key))) expect(real[key]).toEqual(shown[key]);
  });

  it("--list --json: exactly what the test server's listing gives", async () => {
    const shown = JSON.parse(readmeBlocks("json").find((block) => block.startsWith("["))!);
    const real = JSON.parse((await runLmc(["--host", plain.url, "--list", "--json"])).text);
    expect(real).toEqual(shown);
  });
});
