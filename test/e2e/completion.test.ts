// lmc --completion SHELL, as a user installs it: the built lmc prints the script, bash loads it.

import { execFileSync } from "node:child_process";
import { expect, it } from "vitest";
import { runLmc, lmcBin } from "./lmc-process.js";

it("prints a bash script that completes lmc's options", async () => {
  const result = await runLmc(["--completion", "bash"]);
  expect(result.code).toBe(0);
  expect(result.stderr).toBe("");
  const run = lmcBin.endsWith(".cjs") ? `${process.execPath} ${lmcBin}` : lmcBin;
  const offered = execFileSync("bash", ["-c", `
    source <(${run} --completion bash)
    COMP_WORDS=(lmc --max-t); COMP_CWORD=1; COMP_LINE="lmc --max-t"; COMP_POINT=\${#COMP_LINE}
    $(complete -p lmc | sed -E 's/.* -F ([^ ]+) .*/\\1/') lmc --max-t lmc
    printf '%s\\n' "\${COMPREPLY[@]}"
  `], { encoding: "utf8" });
  expect(offered.trim().split("\n")).toEqual(["--max-tokens"]);
});

it.each(["zsh", "fish"])("prints a %s script", async (shell) => {
  const result = await runLmc(["--completion", shell]);
  expect(result.code).toBe(0);
  expect(result.text).toContain("--max-tokens");
});

it("refuses another shell with exit 2", async () => {
  const result = await runLmc(["--completion", "tcsh"]);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/^lmc: --completion takes bash, zsh, fish, not "tcsh"/);
});
