// Docs that cannot drift: every declared option, variable and exit status is in
// --help, the man page and the README.

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
  ["README.md", readme],
])("%s", (_, text) => {
  it.each(optionSpecs.map((spec) => [spec.name, spec]))("documents --%s", (name, spec) => {
    expect(text).toContain(`--${name}`);
    if (spec.short) expect(text).toContain(`-${spec.short}, --${name}`);
  });
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
  it("shows the real --help --all text", () => {
    expect(readme).toContain(renderHelp(JSON.parse(readFileSync("package.json", "utf8")).version, { all: true }).trimEnd());
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
