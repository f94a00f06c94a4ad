// The completion scripts offer exactly the declared options. The bash one is run in
// bash; zsh and fish are checked as text, and for syntax when those shells exist.

import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderCompletion, type Shell } from "../../src/command-line/shell-completion.js";
import { optionSpecs, type OptionSpec } from "../../src/command-line/option-table.js";
import { tempDir } from "../temp-dir.js";

const specs: readonly OptionSpec[] = optionSpecs;

const allSpellings = specs.flatMap((s) => (s.short ? [`-${s.short}`, `--${s.name}`] : [`--${s.name}`]));

/**
 * `text` standing alone, not inside a longer option name: "each" must not be found
 * in "each-jsonl", nor "stream" in "no-stream".
 */
function asWholeWord(text: string): RegExp {
  const escaped = text.trim().replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const before = /^[\w-]/.test(escaped) ? "(?<![\\w-])" : ""; // ")--each" needs no boundary before it
  return new RegExp(`${before}${escaped}(?![\\w-])`);
}

function has(command: string): boolean {
  return spawnSync(command, ["--version"], { stdio: "ignore" }).error === undefined;
}

/** What bash's completion offers when the command line is `words` and the cursor ends the last one. */
function bashComplete(words: string[], cwd?: string): string[] {
  const driver = 'eval "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; _lmc; printf "%s\\n" "${COMPREPLY[@]}"';
  const result = spawnSync("bash", ["--norc", "--noprofile", "-c", driver, "bash", renderCompletion("bash", specs), ...words], {
    encoding: "utf8",
    cwd,
  });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
  return result.stdout
    .split("\n")
    .filter((line) => line !== "")
    .sort();
}

describe("bash", () => {
  /** A folder with files for file-name completion to offer. */
  const folderWithFiles = () => {
    const dir = tempDir("completion");
    for (const name of ["report.txt", "readme.md", "other.txt"]) writeFileSync(join(dir, name), "");
    return dir;
  };

  it.each<[string[], string[]]>([
    [["lmc", "--ma"], ["--max-tokens"]],
    [
      ["lmc", "--no-st"],
      ["--no-stats", "--no-stream"],
    ],
    [["lmc", "-n", "40", "--tem"], ["--temperature"]],
    [
      ["lmc", "-o", "re"],
      ["readme.md", "report.txt"],
    ],
    [["lmc", "--output", "rep"], ["report.txt"]],
    // bash splits "--output=rep" at the "=".
    [["lmc", "--output", "=", "rep"], ["report.txt"]],
    [["lmc", "--completion", "z"], ["zsh"]],
    [
      ["lmc", "--completion", ""],
      ["bash", "fish", "zsh"],
    ],
    [["lmc", "--context-overflow", "r"], ["rolling-window"]],
    [
      ["lmc", "--gpu", ""],
      ["max", "off"],
    ],
    [["lmc", "--schema", "rep"], ["report.txt"]],
    [["lmc", "--resume", "rep"], ["report.txt"]],
    [["lmc", "--stats-file", "rep"], ["report.txt"]],
    [["lmc", "--system-file", "rep"], ["report.txt"]],
    [["lmc", "-n", ""], []],
    [["lmc", "--model", "--"], []],
    [["lmc", "--", "--ma"], []],
    // Wherever a file can stand: a prompt word, --each-file's files, after "<" and after "--".
    [["lmc", "rep"], ["report.txt"]],
    [
      ["lmc", "--each-file", "r"],
      ["readme.md", "report.txt"],
    ],
    [["lmc", "-n", "5", "<", "oth"], ["other.txt"]],
    [["lmc", "--", "rep"], ["report.txt"]],
    [["lmc", "hel"], []],
  ])("%j offers %j", (words, expected) => {
    expect(bashComplete(words, folderWithFiles())).toEqual(expected);
  });

  it("offers a file named * as itself, not globbed into the folder's other files", () => {
    const dir = tempDir("completion");
    for (const name of ["*", "other.txt"]) writeFileSync(join(dir, name), "");
    expect(bashComplete(["lmc", ""], dir)).toEqual(["*", "other.txt"]);
  });

  it("offers every option, long and short, after a dash", () => {
    expect(bashComplete(["lmc", "-"])).toEqual([...allSpellings].sort());
  });

  it("registers itself for lmc", () => {
    const result = spawnSync("bash", ["--norc", "-c", 'eval "$1"; complete -p lmc', "bash", renderCompletion("bash", specs)], {
      encoding: "utf8",
    });
    expect(result.stdout.trim()).toBe("complete -F _lmc lmc");
  });
});

describe.each<[Shell, (spec: OptionSpec) => RegExp[]]>([
  // Where an option is declared ("--each[", "--model=[", "-n+,"), not where a description mentions it ("with --each:").
  ["zsh", (s) => [new RegExp(`(?<![\\w-])--${s.name}[=[}]`), ...(s.short ? [new RegExp(`\\{-${s.short}\\+?,`)] : [])]],
  ["fish", (s) => [asWholeWord(s.short ? `-s ${s.short} -l ${s.name}` : `-l ${s.name}`)]],
])("%s", (shell, spelled) => {
  const script = renderCompletion(shell, specs);

  it.each(specs.map((s) => [s.name, s] as const))("offers --%s", (_, spec) => {
    for (const pattern of spelled(spec)) expect(script).toMatch(pattern);
  });

  it("offers files for --output and prompt words, the shells for --completion, the models for -m", () => {
    if (shell === "zsh") {
      expect(script).toMatch(/--output=\}'\[[^\]]*\]:FILE:_files'/);
      expect(script).toMatch(/--stats-file=\[[^\]]*\]:FILE:_files'/);
      expect(script).toMatch(/--system-file=\[[^\]]*\]:FILE:_files'/);
      expect(script).toContain(":(bash zsh fish)'");
      expect(script).toContain("'*:prompt words or files:_files'");
      expect(script).toMatch(/--model=\}'\[[^\]]*\]:KEY:_lmc_models'/);
    } else {
      expect(script).toContain("-l output -r -F ");
      expect(script).toContain("-l stats-file -r -F ");
      expect(script).toContain("-l system-file -r -F ");
      expect(script).toContain("-l completion -x -a 'bash zsh fish' ");
      // "complete -c lmc -f" would take file names away from prompt words.
      expect(script).not.toMatch(/^complete -c lmc -f$/m);
      expect(script).toContain("-l model -x -a '(__lmc_models | string split0)' ");
    }
  });

  // .ci/run installs zsh and fish, so CI always checks; elsewhere a missing shell skips
  // this, and says so, so that a green local run does not hide it.
  const skipSyntax = !has(shell) && !process.env.CI;
  if (skipSyntax) console.warn(`skipped: the ${shell} completion's syntax check, because ${shell} is not installed (.ci/run installs it)`);
  it.skipIf(skipSyntax)("is valid syntax", () => {
    const file = join(tempDir("completion"), `lmc.${shell}`);
    writeFileSync(file, script);
    const result = spawnSync(shell, ["-n", file], { encoding: "utf8", env: { ...process.env, HOME: dirname(file) } });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });
});

it("uses the declared table by default", () => {
  const spelling = { bash: (name: string) => `--${name}`, zsh: (name: string) => `--${name}`, fish: (name: string) => `-l ${name}` };
  for (const shell of ["bash", "zsh", "fish"] as const) {
    const script = renderCompletion(shell);
    for (const spec of optionSpecs) expect(script).toMatch(asWholeWord(spelling[shell](spec.name)));
  }
});
