// What `npm pack` would ship: the bin, the bundle, its code cache, the licences of
// what the bundle holds, and the man page; nothing else of the repository. And what
// installing that tarball brings along: nothing, since the bundle holds all lmc runs.
// And that `npm pack` in a fresh clone, which has no dist/, builds it first (prepack).

import { execFile } from "node:child_process";
import { cp, mkdir, readdir, readFile, symlink } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { bundledPackages } from "../../scripts/third-party-notices.js";
import { startTestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { cleanEnv } from "./lmc-process.js";

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

  it("approves exactly the install scripts it needs, so npm ci is quiet", async () => {
    const { allowScripts } = JSON.parse(await readFile("package.json", "utf8"));
    expect(allowScripts).toEqual({ esbuild: true, "node-llama-cpp": true });
    // npm 11 lists here what `npm ci` would warn about; older npm has no such command.
    const unreviewed = await run("npm", ["install-scripts", "ls", "--json"]).then(
      ({ stdout }) => JSON.parse(stdout).allowScripts as unknown[],
      () => [],
    );
    expect(unreviewed).toEqual([]);
  });

  it("builds dist/ before packing, so a fresh clone packs a bin that exists", async () => {
    // The repository's files as a fresh clone has them (with this tree's edits), beside
    // this tree's node_modules: no dist/, no build/.
    const dir = tempDir("npm-pack-clone");
    const clone = join(dir, "lmc");
    const { stdout: listed } = await run("git", ["ls-files", "-z"]);
    const tracked = listed.split("\0").filter((file) => file !== "");
    await Promise.all(tracked.map((file) => cp(file, join(clone, file)).catch(() => undefined))); // a file deleted here is not packed
    await symlink(resolve("node_modules"), join(clone, "node_modules"));
    expect(await readdir(clone)).not.toContain("dist");

    const packed = join(dir, "packed");
    await mkdir(packed);
    await run("npm", ["pack", "--pack-destination", packed], { cwd: clone });
    const [tarball] = await readdir(packed);
    expect(tarball).toMatch(/^lmc-\d+\.\d+\.\d+\.tgz$/);
    await run("tar", ["-xzf", join(packed, tarball!), "-C", packed]);
    const { bin } = JSON.parse(await readFile(join(packed, "package", "package.json"), "utf8"));
    const { stdout } = await run(process.execPath, [join(packed, "package", bin.lmc), "--version"], { env: cleanEnv() });
    expect(stdout).toMatch(/^lmc \d+\.\d+\.\d+/);
  }, 120_000);

  it("installs as lmc alone, with no dependencies, and the installed lmc completes", async () => {
    const dir = tempDir("npm-install");
    const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dir]);
    const tarball = join(dir, JSON.parse(stdout)[0].filename as string);
    const prefix = join(dir, "prefix");
    // --offline: a package that depends on nothing needs nothing from a registry.
    await run("npm", ["install", "--global", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", tarball]);
    const installed = join(prefix, "lib", "node_modules");
    expect(await readdir(installed)).toEqual(["lmc"]);
    expect(await readdir(join(installed, "lmc"))).not.toContain("node_modules");

    const server = await startTestServer({ quiet: true });
    try {
      const lmc = await run(join(prefix, "bin", "lmc"), ["--host", server.url, "-t", "0", "-n", "3", "--no-stats", "My name is"], {
        env: cleanEnv(),
      });
      expect(lmc.stderr).toBe("");
      expect(lmc.stdout).toBe(" Anna. I");
    } finally {
      await server.close();
    }
  }, 120_000);
});
