// The man page is valid roff: groff, with every warning on, has nothing to say about it.

import { spawnSync } from "node:child_process";
import { expect, it } from "vitest";

const groff = spawnSync("groff", ["--version"], { stdio: "ignore" }).error === undefined;

// .ci/run installs groff where it is missing, so CI always checks; elsewhere a missing groff
// skips this, and says so, so that a green local run does not hide it.
const skipLint = !groff && !process.env.CI;
if (skipLint) console.warn("skipped: the man page lint, because groff is not installed (.ci/run installs it)");
it.skipIf(skipLint)("man/lmc.1 formats without a groff warning", () => {
  const result = spawnSync("groff", ["-ww", "-man", "-z", "man/lmc.1"], { encoding: "utf8", env: { ...process.env, LC_ALL: "C" } });
  expect(result.stderr).toBe("");
  expect(result.status).toBe(0);
});
