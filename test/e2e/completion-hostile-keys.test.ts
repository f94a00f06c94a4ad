// lmc -m <TAB> against a server that offers hostile model keys (test/server/hostile-models.ts),
// in real bash, zsh and fish with the built lmc on the PATH: nothing in a key is run,
// globbed or split, every candidate is one key, literally (quoted for the line where the
// shell inserts it as it is), and the server asked is the one named by --host on the line.

import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closedPort } from "../closed-port.js";
import { hostileCatalog, hostileKeys, hostileMarkers } from "../server/hostile-models.js";
import { startTestServer, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { cleanEnv, lmcBin } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true, models: hostileCatalog() });
});
afterAll(() => server?.close());

/** Every key the server offers that can be an argument at all (a NUL cannot). */
const offerable = ["lmc-tiny", ...hostileKeys].filter((key) => !key.includes("\0"));
const hex = (text: string) => Buffer.from(text).toString("hex");

/**
 * Runs `script` in `shell` in a fresh folder holding a few files (for a glob to find),
 * with the built lmc on the PATH and no local LM Studio to find: only a --host on the
 * line reaches the server. Asynchronously: the server runs in this process.
 */
async function inShell(shell: string, args: string[], script: string, scriptArgs: string[] = []): Promise<{ stdout: string; dir: string }> {
  const dir = tempDir(`completion-${shell}`);
  for (const name of ["file-one", "file-two"]) writeFileSync(join(dir, name), "");
  const bin = join(dir, ".bin");
  mkdirSync(bin);
  const run = lmcBin.endsWith(".cjs") ? `"${process.execPath}" "${lmcBin}"` : `"${lmcBin}"`;
  writeFileSync(join(bin, "lmc"), `#!/bin/sh\nexec ${run} "$@"\n`, { mode: 0o755 });
  const env = { ...cleanEnv(), PATH: `${bin}:${process.env.PATH}`, HOME: dir, LMC_LOCAL_PORTS: String(await closedPort()) };
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      shell,
      [...args, script, ...(shell === "fish" ? [] : [shell]), ...scriptArgs],
      { cwd: dir, env, timeout: 60_000, encoding: "utf8" },
      (error, out, err) => (error ? reject(new Error(`${shell} failed: ${error.message}\n${err}`)) : resolve(out)),
    ),
  );
  return { stdout, dir };
}

function expectNothingRan(dir: string): void {
  for (const marker of hostileMarkers) expect(existsSync(join(dir, marker)), marker).toBe(false);
}

describe("bash", () => {
  /**
   * The candidates for the line `words` (the cursor at its end), each read back as bash
   * reads the line when Enter is pressed: "1:" and the word's bytes in hex when it is
   * one word, another count when it was split or globbed.
   */
  async function candidates(words: string[]) {
    const script = `source <(lmc --completion bash)
      set -- ${words.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(" ")}
      COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=\${#COMP_LINE}
      _lmc
      for candidate in "\${COMPREPLY[@]}"; do
        eval "set -- $candidate"
        printf '%s:' $#; printf %s "$*" | od -An -tx1 | tr -d ' \\n'; echo
      done`;
    const { stdout, dir } = await inShell("bash", ["--norc", "--noprofile", "-c"], script);
    expectNothingRan(dir);
    return stdout.split("\n").filter((line) => line !== "");
  }

  it("offers every key as one quoted word, from the --host on the line", async () => {
    const offered = await candidates(["lmc", "--host", server.url, "-m", ""]);
    expect(offered.sort()).toEqual(offerable.map((key) => `1:${hex(key)}`).sort());
    expect(await candidates(["lmc", `--host=${server.url}`, "--draft-model", ""])).toHaveLength(offerable.length);
  });

  it.each([
    ["a", "a$(touch pwned-a)b"],
    ["b", "b`touch pwned-b`"],
    ["f", "f new\nline"],
    ["\\*", "*"],
    ["-", "-dash"],
    ["h\\\\", "h\\back\\x00slash\\"],
  ])("completes %j to the one key %j", async (typed, key) => {
    expect(await candidates(["lmc", "-H", server.url, "-m", typed])).toEqual([`1:${hex(key)}`]);
  });
});

describe("zsh", () => {
  /**
   * Types each line and a Tab into an interactive zsh (through zpty), with compadd
   * recording the model keys it is handed, then reads the line back as zsh reads it
   * when Enter is pressed. Returns the keys compadd got, in hex, and per line the
   * number of words read back and the last one's bytes in hex ("N:HEX").
   */
  async function complete(lines: string[]) {
    const session = [
      "PS1=''; unsetopt auto_list list_ambiguous beep; autoload -Uz compinit; compinit -u -D",
      "source <(lmc --completion zsh)",
      `compadd() { if [[ $1 == -a && $2 == models ]]; then for c in "\${(@P)2}"; do print -rn -- $c | od -An -tx1 | tr -d ' \\n'; echo; done >> offered; fi; builtin compadd "$@"; }`,
      `_lmc_read_back() { eval "set -- $BUFFER"; { print -rn -- "$#:"; print -rn -- "\${@[-1]}" | od -An -tx1 | tr -d ' \\n'; echo } >> read-back; BUFFER=; print "<<$(( ++done ))>>"; }`,
      "zle -N _lmc_read_back; bindkey '^X' _lmc_read_back",
    ];
    // Keys are read in order, so ^X runs once the Tab's completion is over.
    const driver = `zmodload zsh/zpty
      zpty z zsh -f -i
      for command in "\${(@f)1}"; do zpty -w z "$command"; done
      i=0
      for line in "\${(@f)2}"; do zpty -w -n z "$line"$'\\t\\C-x'; zpty -r z reply "*<<$(( ++i ))>>*"; done
      zpty -d z`;
    const { dir } = await inShell("zsh", ["-f", "-c"], driver, [session.join("\n"), lines.join("\n")]);
    expectNothingRan(dir);
    const read = (name: string) =>
      existsSync(join(dir, name))
        ? readFileSync(join(dir, name), "utf8")
            .split("\n")
            .filter((line) => line !== "")
        : [];
    return { offered: read("offered"), readBack: read("read-back") };
  }

  const skip = !has("zsh") && !process.env.CI;
  it.skipIf(skip)("offers every key to compadd as it is, from the --host on the line, and each goes on the line quoted", async () => {
    const typed: [string, string][] = [
      ["a", "a$(touch pwned-a)b"],
      ["b", "b`touch pwned-b`"],
      ["c", "c;touch pwned-c"],
      ["d", `don't "quote"`],
      ["e", "e with  spaces"],
      ["f", "f new\nline"],
      ["g", "g\ttab"],
      ["h", "h\\back\\x00slash\\"],
      ["j", "j\u009bc1"],
      ["k", "k\u001b[31mescape"],
      ["-", "-dash"],
    ];
    const { offered, readBack } = await complete([
      `lmc --host ${server.url} -m `,
      ...typed.map(([prefix], i) => (i % 2 === 0 ? `lmc -H ${server.url} -m ${prefix}` : `lmc --host=${server.url} --draft-model ${prefix}`)),
    ]);
    expect(offered.slice(0, offerable.length).sort()).toEqual(offerable.map(hex).sort());
    expect(readBack.slice(1)).toEqual(typed.map(([, key], i) => `${i % 2 === 0 ? 5 : 4}:${hex(key)}`));
  });
});

describe("fish", () => {
  const skip = !has("fish") && !process.env.CI;
  it.skipIf(skip)("offers every key it can as it is, from the --host on the line", async () => {
    const script = `lmc --completion fish | source
      complete -C "lmc --host $argv[1] -m "; echo ---
      complete -C "lmc --host=$argv[1] --draft-model "; echo ---
      complete -C "lmc -H$argv[1] -m a"`;
    const { stdout, dir } = await inShell("fish", ["--no-config", "-c"], script, [server.url]);
    expectNothingRan(dir);
    // Each candidate is followed by a tab, the option's description and a newline.
    const [model, draft, a] = stdout.split("---\n").map((part) =>
      part
        .split(/\t[^\t\n]*\n/)
        .filter((c) => c !== "")
        .sort(),
    );
    // fish takes what follows a tab as the description: a key with a tab cannot be offered.
    const expected = offerable.filter((key) => !key.includes("\t")).sort();
    expect(model).toEqual(expected);
    expect(draft).toEqual(expected);
    expect(a).toEqual(["a$(touch pwned-a)b"]);
  });
});

function has(command: string): boolean {
  return spawnSync(command, ["--version"], { stdio: "ignore" }).error === undefined;
}
