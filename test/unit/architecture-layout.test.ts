// The "Layout" tree of docs/ARCHITECTURE.md against the files: every path it names exists, and
// every file of src/ is named, so the map cannot drift from the territory.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");

/** The paths of the layout tree: each entry's place follows from its indentation. */
function layoutPaths(doc: string): string[] {
  const section = doc.split(/^## Layout$/m)[1]?.split(/^## /m)[0] ?? "";
  const tree = /```text\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
  const paths: string[] = [];
  const folders: Array<{ depth: number; path: string }> = [];
  for (const line of tree.split("\n")) {
    const match = /^( *)(\S+)/.exec(line);
    if (!match || !/^[\w.-]+(\/[\w.-]+)*\/?$/.test(match[2]!)) continue;
    const depth = match[1]!.length;
    // A continuation of the line above is indented deeper than any entry.
    if (folders.length > 0 && depth > folders.at(-1)!.depth + 4) continue;
    while (folders.length > 0 && folders.at(-1)!.depth >= depth) folders.pop();
    const path = join(folders.at(-1)?.path ?? "", match[2]!).replace(/\/$/, "");
    paths.push(path);
    if (match[2]!.endsWith("/")) folders.push({ depth, path });
  }
  return paths;
}

function filesUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)));
}

describe("the layout in docs/ARCHITECTURE.md", () => {
  const named = layoutPaths(readFileSync(join(root, "docs/ARCHITECTURE.md"), "utf8"));

  it("is found, and names folders and files in them", () => {
    expect(named).toContain("src/cli.ts");
    expect(named).toContain("src/lmstudio/session.ts");
    expect(named).toContain("test/e2e");
    expect(named).toContain("man/lmc.1");
  });

  it("names only paths that exist", () => {
    expect(named.filter((path) => !existsSync(join(root, path)))).toEqual([]);
  });

  it("names every file of src/", () => {
    expect(filesUnder("src").filter((file) => !named.includes(file))).toEqual([]);
  });
});
