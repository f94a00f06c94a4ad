import { chmodSync, chownSync, lchownSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { outputTarget } from "../../src/output/output-path.js";
import { tempDir } from "../temp-dir.js";

const OTHER = 65534;
const asRoot = process.getuid?.() === 0;

describe("outputTarget: a name that names a folder", () => {
  it.each([
    ["file/", "not a directory"],
    ["file/.", "not a directory"],
    ["new/", "is a directory"],
    ["folder/", "is a directory"],
    ["folder/..", "is a directory"],
    ["missing/new/", "no such file or directory"],
  ])("%s: %s", async (name, why) => {
    const dir = tempDir("path");
    writeFileSync(join(dir, "file"), "");
    mkdirSync(join(dir, "folder"));
    await expect(outputTarget(`${dir}/${name}`)).rejects.toThrow(`cannot write ${dir}/${name}: ${why}`);
  });

  it("a file on the way is not a directory", async () => {
    const dir = tempDir("path");
    writeFileSync(join(dir, "file"), "");
    await expect(outputTarget(join(dir, "file", "out.txt"))).rejects.toThrow(/: not a directory$/);
  });
});

describe.skipIf(!asRoot)("outputTarget in a sticky folder everyone may write", () => {
  function sticky(): string {
    const dir = tempDir("sticky");
    chmodSync(dir, 0o1777);
    return dir;
  }

  it("follows the user's own symlink, and refuses another user's, at the end or on the way", async () => {
    const dir = sticky();
    const elsewhere = tempDir("elsewhere");
    symlinkSync(join(elsewhere, "out.txt"), join(dir, "mine"));
    expect(await outputTarget(join(dir, "mine"))).toEqual({ kind: "replace", path: join(elsewhere, "out.txt") });
    symlinkSync(join(elsewhere, "out.txt"), join(dir, "theirs"));
    lchownSync(join(dir, "theirs"), OTHER, OTHER);
    await expect(outputTarget(join(dir, "theirs"))).rejects.toThrow(/: permission denied \(a symlink another user put/);
    symlinkSync(elsewhere, join(dir, "their-folder"));
    lchownSync(join(dir, "their-folder"), OTHER, OTHER);
    await expect(outputTarget(join(dir, "their-folder", "out.txt"))).rejects.toThrow(/: permission denied \(a symlink another user put/);
  });

  it("follows a symlink of the folder's owner, and of anyone where the folder is not sticky or not open to all", async () => {
    const dir = sticky();
    symlinkSync("target", join(dir, "theirs"));
    lchownSync(join(dir, "theirs"), OTHER, OTHER);
    chownSync(dir, OTHER, OTHER);
    expect(await outputTarget(join(dir, "theirs"))).toMatchObject({ kind: "replace", path: join(dir, "target") });
    chownSync(dir, 0, 0);
    chmodSync(dir, 0o777);
    expect(await outputTarget(join(dir, "theirs"))).toMatchObject({ kind: "replace" });
    chmodSync(dir, 0o1775);
    expect(await outputTarget(join(dir, "theirs"))).toMatchObject({ kind: "replace" });
  });

  it("refuses another user's regular file there, and takes the user's own", async () => {
    const dir = sticky();
    writeFileSync(join(dir, "theirs"), "");
    chownSync(join(dir, "theirs"), OTHER, OTHER);
    await expect(outputTarget(join(dir, "theirs"))).rejects.toThrow(/: permission denied \(a file another user put/);
    writeFileSync(join(dir, "mine"), "");
    expect(await outputTarget(join(dir, "mine"))).toMatchObject({ kind: "replace", existing: expect.anything() });
  });
});
