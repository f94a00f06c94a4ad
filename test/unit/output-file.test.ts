import { execFileSync } from "node:child_process";
import { lstatSync, statSync } from "node:fs";
import { chmod, readdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fileSink, removeTemporaryFiles } from "../../src/output/output-file.js";
import { outputTarget } from "../../src/output/output-path.js";
import { tempDir } from "../temp-dir.js";

const mode = (path: string) => statSync(path).mode & 0o7777;
const options = (newFileMode: number) => ({ newFileMode, stdout: process.stdout, stdoutFd: 1 });

describe("fileSink", () => {
  it("shows the file only on commit, replacing what was there and keeping its mode", async () => {
    const dir = tempDir("sink");
    const path = join(dir, "out.txt");
    await writeFile(path, "old");
    await chmod(path, 0o640);
    const sink = await fileSink(path, options(0o644));
    await sink.write("new ");
    await sink.write("text");
    expect(await readFile(path, "utf8")).toBe("old");
    await sink.commit();
    expect(await readFile(path, "utf8")).toBe("new text");
    expect(mode(path)).toBe(0o640);
    expect(await readdir(dir)).toEqual(["out.txt"]);
  });

  it("gives a new file the mode it is told (0666 less the umask)", async () => {
    const dir = tempDir("sink");
    const sink = await fileSink(join(dir, "new.txt"), options(0o604));
    await sink.commit();
    expect(mode(join(dir, "new.txt"))).toBe(0o604);
  });

  it("writes to a temporary file of its own: a new random name each time, owner-only until complete", async () => {
    const dir = tempDir("sink");
    const path = join(dir, "out.txt");
    const [first, second] = [await fileSink(path, options(0o644)), await fileSink(path, options(0o644))];
    const temporaries = (await readdir(dir)).sort();
    expect(temporaries).toHaveLength(2);
    for (const name of temporaries) {
      expect(name).toMatch(/^\.out\.txt\.[0-9a-f]{16}\.lmc-tmp$/);
      expect(mode(join(dir, name))).toBe(0o600);
    }
    await first.discard();
    await second.discard();
  });

  it("leaves no trace on discard", async () => {
    const dir = tempDir("sink");
    const sink = await fileSink(join(dir, "out.txt"), options(0o644));
    await sink.write("partial");
    await sink.discard();
    expect(await readdir(dir)).toEqual([]);
  });

  it("removeTemporaryFiles removes what is still open (the process's exit hook)", async () => {
    const dir = tempDir("sink");
    const sink = await fileSink(join(dir, "out.txt"), options(0o644));
    await sink.write("partial");
    removeTemporaryFiles();
    expect(await readdir(dir)).toEqual([]);
    await sink.discard();
  });

  it("writes a symlink's target atomically and leaves the link a link", async () => {
    const dir = tempDir("sink");
    await writeFile(join(dir, "target.txt"), "old");
    await chmod(join(dir, "target.txt"), 0o600);
    await symlink("target.txt", join(dir, "link"));
    const sink = await fileSink(join(dir, "link"), options(0o644));
    await sink.write("new");
    await sink.commit();
    expect(lstatSync(join(dir, "link")).isSymbolicLink()).toBe(true);
    expect(await readlink(join(dir, "link"))).toBe("target.txt");
    expect(await readFile(join(dir, "target.txt"), "utf8")).toBe("new");
    expect(mode(join(dir, "target.txt"))).toBe(0o600);
  });

  it("fails at once for a directory that does not exist", async () => {
    await expect(fileSink("/nonexistent-dir/out.txt", options(0o644))).rejects.toThrow(/^cannot write \/nonexistent-dir\/out.txt: /);
  });
});

describe("outputTarget", () => {
  it.each([
    ["/dev/null", { kind: "inPlace", path: "/dev/null" }],
    ["/dev/stdout", { kind: "inPlace", path: "/proc/self/fd/1", fd: 1 }],
    ["/dev/fd/1", { kind: "inPlace", path: "/dev/fd/1", fd: 1 }],
    ["/proc/self/fd/2", { kind: "inPlace", path: "/proc/self/fd/2", fd: 2 }],
  ])("%s is written in place", async (path, target) => {
    expect(await outputTarget(path)).toEqual(target);
  });

  it("follows symlinks to a file, a dangling one to the file it names, and writes a FIFO in place", async () => {
    const dir = tempDir("target");
    await writeFile(join(dir, "file"), "");
    await symlink("file", join(dir, "one"));
    await symlink(join(dir, "one"), join(dir, "two"));
    await symlink("missing", join(dir, "dangling"));
    execFileSync("mkfifo", [join(dir, "fifo")]);
    expect(await outputTarget(join(dir, "two"))).toMatchObject({ kind: "replace", path: join(dir, "file"), existing: expect.anything() });
    expect(await outputTarget(join(dir, "dangling"))).toEqual({ kind: "replace", path: join(dir, "missing") });
    expect(await outputTarget(join(dir, "fifo"))).toEqual({ kind: "inPlace", path: join(dir, "fifo") });
  });

  it("gives up on a loop of symlinks", async () => {
    const dir = tempDir("target");
    await symlink("b", join(dir, "a"));
    await symlink("a", join(dir, "b"));
    await expect(outputTarget(join(dir, "a"))).rejects.toThrow(/too many levels of symbolic links/);
  });
});
