// Which cache directories and files the launcher trusts (src/startup/cache-dir.ts). "Another user"
// is nobody (65534): chown needs root, as CI runs; the tests that need it are skipped else.

import { execFileSync } from "node:child_process";
import { chmodSync, closeSync, existsSync, lchownSync, mkdirSync, readdirSync, statSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_CACHE_FILE_BYTES, inspectCacheDir, openCacheFile } from "../../src/startup/cache-dir.js";
import { tempDir } from "../temp-dir.js";

const NOBODY = 65534;
const me = process.geteuid!();
const asRoot = me === 0;

function madeDir(mode = 0o700): string {
  const dir = join(tempDir("cache-dir"), "lmc");
  mkdirSync(dir, { mode });
  chmodSync(dir, mode); // whatever the umask
  return dir;
}

describe("the user's cache directory", () => {
  it("is trusted, as resolved, when it is the user's own and only they can write it, /tmp (sticky) on the way", () => {
    const dir = madeDir();
    expect(inspectCacheDir(dir, false)).toEqual({ dir });
    const link = join(dir, "..", "link");
    symlinkSync(dir, link);
    expect(inspectCacheDir(join(link, "."), false)).toEqual({ dir });
    expect(inspectCacheDir(join(link, "..", "lmc"), false)).toEqual({ dir });
  });

  it("is refused when group or others can write it", () => {
    for (const mode of [0o777, 0o770, 0o1777, 0o702]) {
      const dir = madeDir(mode);
      expect(inspectCacheDir(dir, false)).toEqual({ refused: `others than its owner can write ${dir} (mode ${mode.toString(8).padStart(4, "0")})` });
    }
  });

  it("is refused when a directory on the way can be written by others and is not sticky", () => {
    const dir = madeDir();
    const parent = join(dir, "..");
    chmodSync(parent, 0o777);
    expect(inspectCacheDir(dir, false)).toEqual({ refused: expect.stringContaining(`(mode 0777)`) });
    chmodSync(parent, 0o1777); // sticky: no one else can rename what is ours
    expect(inspectCacheDir(dir, false)).toEqual({ dir });
  });

  it("is refused when a file stands on the way", () => {
    const home = tempDir("cache-dir");
    writeFileSync(join(home, "a-file"), "");
    expect(inspectCacheDir(join(home, "a-file", "lmc"), false)).toEqual({ refused: `${home}/a-file is not a directory` });
    expect(inspectCacheDir(join(home, "a-file", "lmc"), true)).toEqual({ refused: `${home}/a-file is not a directory` });
  });

  it("is missing when not there yet, and made 0700 with its parents when asked to", () => {
    const home = tempDir("cache-dir");
    const dir = join(home, "cache", "lmc");
    expect(inspectCacheDir(dir, false)).toEqual({ missing: true });
    expect(existsSync(join(home, "cache"))).toBe(false);
    const old = process.umask(0);
    try {
      expect(inspectCacheDir(dir, true)).toEqual({ dir });
    } finally {
      process.umask(old);
    }
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(home, "cache")).mode & 0o777).toBe(0o700);
  });

  it.runIf(asRoot)("is refused when it, or a directory on the way, belongs to another user (root with another user's HOME)", () => {
    const dir = madeDir();
    const home = join(dir, "..");
    execFileSync("chown", [String(NOBODY), home]);
    expect(inspectCacheDir(dir, false)).toEqual({ refused: `${home} is owned by uid ${NOBODY}, not by you (uid 0)` });
    execFileSync("chown", ["0", home]);
    execFileSync("chown", [String(NOBODY), dir]);
    expect(inspectCacheDir(dir, false)).toEqual({ refused: `${dir} is owned by uid ${NOBODY}, not by you (uid 0)` });
    expect(inspectCacheDir(dir, true)).toEqual({ refused: `${dir} is owned by uid ${NOBODY}, not by you (uid 0)` });
  });

  it.runIf(asRoot)("is neither used nor made through a symbolic link that another user owns", () => {
    const mine = tempDir("cache-dir"); // root's own, 0700: trusted as such
    const theirs = tempDir("cache-dir");
    const link = join(theirs, "cache-home");
    symlinkSync(mine, link);
    lchownSync(link, NOBODY, NOBODY);
    const refusal = { refused: `${link} is a symbolic link owned by uid ${NOBODY}, not by you (uid 0)` };
    expect(inspectCacheDir(join(link, "lmc"), true)).toEqual(refusal);
    expect(readdirSync(mine)).toEqual([]); // nothing created through it
    mkdirSync(join(mine, "lmc"), { mode: 0o700 });
    expect(inspectCacheDir(join(link, "lmc"), false)).toEqual(refusal);
    lchownSync(link, 0, 0);
    expect(inspectCacheDir(join(link, "lmc"), false)).toEqual({ dir: join(mine, "lmc") });
  });
});

describe("a cache file", () => {
  const mine = { followLinks: false, uid: me };

  it("is opened when it is a regular file of the user's that only they can write", () => {
    const file = join(madeDir(), "cache");
    writeFileSync(file, "data", { mode: 0o600 });
    const opened = openCacheFile(file, mine);
    expect(opened).toEqual({ fd: expect.any(Number), size: 4 });
    closeSync((opened as { fd: number }).fd);
    expect(openCacheFile(join(file, "..", "none"), mine)).toEqual({ missing: true });
  });

  it("is refused, at once, when it is a FIFO, a link (to /dev/zero) or a directory", () => {
    const dir = madeDir();
    execFileSync("mkfifo", [join(dir, "fifo")]); // nobody will ever write it: a blocking open would hang
    symlinkSync("/dev/zero", join(dir, "zero"));
    mkdirSync(join(dir, "dir"));
    expect(openCacheFile(join(dir, "fifo"), mine)).toEqual({ refused: "it is not a regular file" });
    expect(openCacheFile(join(dir, "zero"), mine)).toEqual({ refused: "it is a symbolic link" });
    expect(openCacheFile(join(dir, "dir"), mine)).toEqual({ refused: "it is not a regular file" });
    // The shipped cache may be a link (some package managers make them), but not to a device.
    expect(openCacheFile(join(dir, "zero"), { followLinks: true, uid: undefined })).toEqual({ refused: "it is not a regular file" });
    expect(openCacheFile(join(dir, "fifo"), { followLinks: true, uid: undefined })).toEqual({ refused: "it is not a regular file" });
  });

  it("is refused when larger than any cache lmc makes", () => {
    const file = join(madeDir(), "cache");
    writeFileSync(file, "", { mode: 0o600 });
    truncateSync(file, MAX_CACHE_FILE_BYTES + 1); // sparse: takes no room
    expect(openCacheFile(file, mine)).toEqual({ refused: "it is larger than 64 MiB" });
  });

  it("is refused when group or others can write it", () => {
    const file = join(madeDir(), "cache");
    writeFileSync(file, "data");
    chmodSync(file, 0o664);
    expect(openCacheFile(file, mine)).toEqual({ refused: "others than its owner can write it (mode 0664)" });
  });

  it.runIf(asRoot)("is refused when it belongs to another user", () => {
    const file = join(madeDir(), "cache");
    writeFileSync(file, "data", { mode: 0o600 });
    execFileSync("chown", [String(NOBODY), file]);
    expect(openCacheFile(file, mine)).toEqual({ refused: `it is owned by uid ${NOBODY}, not by you (uid 0)` });
  });
});
