// Docs that cannot drift: every declared option, variable and exit status is in
// --help and the man page, and the README's tables name every variable and exit status.

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ExitCode } from "../../src/errors.js";
import { renderHelp } from "../../src/command-line/help.js";
import { optionSpecs } from "../../src/command-line/option-table.js";

const help = renderHelp("0.0.0", { all: true });
const man = readFileSync("man/lmc.1", "utf8");
const readme = readFileSync("README.md", "utf8");
// The man page's source with roff's escapes and quoting undone: `.BR \-m ", " \-\-model` reads "-m, --model".
const manText = man.replace(/\\-/g, "-").replace(/ ", " /g, ", ");
/** The part of a document that lists exit statuses, up to the next heading. */
function exitStatusSection(text: string): string {
  const start = text.search(/^(Exit status:|\.SH "EXIT STATUS"|## Exit status)$/m);
  expect(start).toBeGreaterThanOrEqual(0);
  const rest = text.slice(start + 1);
  const end = rest.search(/^(Examples:|\.SH |## )/m);
  return end < 0 ? rest : rest.slice(0, end);
}

const variables = optionSpecs.flatMap((spec) => (spec.env ? [spec.env] : []));

describe.each([
  ["--help --all", help],
  ["man/lmc.1", manText],
])("%s", (_, text) => {
  it.each(optionSpecs.map((spec) => [spec.name, spec]))("documents --%s", (name, spec) => {
    expect(text).toContain(`--${name}`);
    if (spec.short) expect(text).toContain(`-${spec.short}, --${name}`);
  });
});

// The README is for users and stays short: it lists no options (--help --all and the
// man page do), but its tables of variables and exit statuses are whole.
describe.each([
  ["--help --all", help],
  ["man/lmc.1", manText],
  ["README.md", readme],
])("%s", (_, text) => {
  it.each([...variables, "LMC_DEBUG", "NO_COLOR"])("documents %s", (variable) => {
    expect(text).toContain(variable);
  });
  it.each(Object.entries(ExitCode))("documents exit status %s (%i)", (_, code) => {
    // Only the exit status section counts: a "0" elsewhere (0.5, 0 for greedy) proves nothing.
    expect(exitStatusSection(text)).toMatch(new RegExp(`(^|[^0-9])${code}([^0-9]|$)`, "m"));
  });
});

describe("man/lmc.1", () => {
  it("has the sections Unix users look for", () => {
    for (const section of ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT", '"EXIT STATUS"', "EXAMPLES"]) {
      expect(man).toMatch(new RegExp(`^\\.SH ${section}$`, "m"));
    }
  });
  it("describes exactly the declared options, no more", () => {
    const section = manText.slice(manText.indexOf(".SH OPTIONS"), manText.indexOf(".SH ENVIRONMENT"));
    const items = section
      .split(".TP\n")
      .slice(1)
      .map((item) => item.split("\n")[0]!);
    const described = items.flatMap((line) => [...line.matchAll(/--([a-z-]+)/g)].map((m) => m[1]));
    expect(described.sort()).toEqual(optionSpecs.map((spec) => spec.name).sort());
  });
});

describe("README.md", () => {
  const lines = readme.split("\n");
  it("starts with the two commands for a fresh machine", () => {
    const top = lines.slice(0, 15).join("\n");
    expect(top).toMatch(/^```sh\nnpm ci && npm run demo .*\nnpm test .*\n```$/m);
  });
  it("stays a README for users: at most 200 lines", () => {
    expect(lines.length).toBeLessThanOrEqual(200);
  });
  it("says where every option is, and gives no count of --help's lines that could drift", () => {
    expect(readme).toContain("lmc --help --all");
    expect(readme).toContain("man ./man/lmc.1");
    expect(readme).not.toMatch(/\(\d+ lines\)/);
  });
});

describe("the variables that are no option's default", () => {
  it.each(["LM_API_TOKEN", "LMC_NO_CACHE", "LMC_LOCAL_PORTS"])("%s has an entry in the man page and a line in the README", (variable) => {
    expect(manText).toMatch(new RegExp(`^\\.B ${variable}$`, "m"));
    expect(readme).toContain(variable);
  });
});

describe("--help", () => {
  const short = renderHelp("0.1.0");
  it.each([
    ["--help", short],
    ["--help --all", help],
  ])("%s fits an 80-column terminal", (_, text) => {
    const tooWide = text.split("\n").filter((line) => line.length > 80);
    expect(tooWide).toEqual([]);
  });
  it("shows the common options on one screen, and says where the rest are", () => {
    expect(short.split("\n").length).toBeLessThan(40);
    for (const spec of optionSpecs.filter((spec) => spec.common)) expect(short).toContain(`--${spec.name}`);
    expect(short).not.toContain("--top-k");
    expect(short).toContain("lmc --help --all");
  });
});
