// What `npm pack` would ship: the bin, the bundle, its code cache, the licences of
// what the bundle holds, and the man page; nothing else of the repository.

import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { bundledPackages } from "../../scripts/third-party-notices.js";

const run = promisify(execFile);

describe("the npm package", () => {
  it("holds the bin, the bundle and its cache, the notices, the man page, and no more", async () => {
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"]);
    const files = (JSON.parse(stdout)[0].files as Array<{ path: string }>).map((file) => file.path).sort();
    expect(files).toEqual([
      "LICENSE",
      "README.md",
      "dist/THIRD-PARTY-NOTICES.txt",
      "dist/lmc-bundle.cjs",
      "dist/lmc-bundle.cjs.cache",
      "dist/lmc.cjs",
      "man/lmc.1",
      "package.json",
    ]);
  });

  it("carries the licence of every package bundled", async () => {
    const { metafile } = await build({
      entryPoints: ["src/cli.ts"],
      bundle: true,
      platform: "node",
      format: "cjs",
      write: false,
      metafile: true,
      outfile: "unused.cjs",
    });
    const packages = bundledPackages(metafile);
    expect(packages).toContain("node_modules/@lmstudio/sdk");
    const notices = await readFile("dist/THIRD-PARTY-NOTICES.txt", "utf8");
    for (const folder of packages) {
      const { name, version } = JSON.parse(await readFile(`${folder}/package.json`, "utf8"));
      expect(notices).toContain(`\n${name} ${version} (`);
    }
    expect(notices).toContain("Apache License");
    expect(notices).toContain("Permission is hereby granted");
  });
});
