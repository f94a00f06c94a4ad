// The linter's rules that catch bugs in this code stay on: each snippet below has one
// such bug, and the project's own ESLint config must report it. The promises come from
// Node's typings, which is what a linter without TypeScript's types misses.

import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

// The snippets are linted as if they were this file, so they get the config a test gets;
// the `!` rule holds for lmc's own code, so that one is linted as a file of src/.
const THIS_FILE = "test/unit/lint-rules.test.ts";

async function rulesReported(code: string, filePath = THIS_FILE): Promise<string[]> {
  const [result] = await new ESLint().lintText(code, { filePath });
  return (result?.messages ?? []).map((message) => message.ruleId ?? message.message);
}

describe("the linter", () => {
  it("reports a promise that is neither awaited, caught nor voided, and accepts one handed off with void", async () => {
    const code = [
      'import { writeFile } from "node:fs/promises";',
      "export async function save(): Promise<void> {",
      '  writeFile("a", "b");',
      '  void writeFile("c", "d");',
      "}",
      "",
    ].join("\n");
    expect(await rulesReported(code)).toEqual(["@typescript-eslint/no-floating-promises"]);
  }, 60_000);

  it("reports an async callback where nothing waits for it", async () => {
    const code = ["export function each(items: string[]): void {", "  items.forEach(async (item) => console.log(item));", "}", ""].join("\n");
    expect(await rulesReported(code)).toEqual(["@typescript-eslint/no-misused-promises"]);
  }, 60_000);

  it("reports an unused variable, and a non-null assertion where a type would do in lmc's own code", async () => {
    expect(await rulesReported("export function f(): void {\n  const unused = 1;\n}\n")).toEqual(["@typescript-eslint/no-unused-vars"]);
    const code = "export function shell(options: { shell?: string }): string {\n  return options.shell!;\n}\n";
    expect(await rulesReported(code, "src/main.ts")).toEqual(["no-restricted-syntax"]);
    // An element read by index is what no type can vouch for (noUncheckedIndexedAccess).
    const indexed = 'export function first(words: string[]): string {\n  return words.length > 0 ? words[0]! : "";\n}\n';
    expect(await rulesReported(indexed, "src/main.ts")).toEqual([]);
  }, 60_000);
});
