// Whether the user's code cache directory, and a cache file in it, may be trusted. A
// cache is code: V8 runs what a cache file holds as long as its header fits (it checks
// only the length of the source), so whoever can write the file, or swap it, runs their
// JavaScript as the user who runs lmc. `sudo -E lmc`, `su` without `-` and a shared
// XDG_CACHE_HOME all point root at a directory another user chose.
//
// So, as ssh's StrictModes does for ~/.ssh, the directory is used (read, written, pruned)
// only when it belongs to the effective user and neither group nor others can write it,
// and when no one else can change the path to it: every directory on the way belongs to
// the user or root and only they can write it (or it is sticky, like /tmp, where no one
// else can rename what is ours), and every symbolic link on the way belongs to the user or
// root. The path is resolved once, here, and used as resolved from then on. A file in it
// must belong to the user, be writable by no one else, be a regular file (not a FIFO,
// which would block the open, nor a link, which might lead to /dev/zero) and of a
// bounded size.
//
// On Windows there are no such owners and modes to check (the directory is under the
// user's own LOCALAPPDATA); only the file's kind and size are.

import { constants, fstatSync, lstatSync, mkdirSync, openSync, closeSync, readlinkSync, type Stats } from "node:fs";
import { resolve } from "node:path";

/** Larger than any cache V8 makes of lmc's bundle (0.6 MB): what one cache file may take. */
export const MAX_CACHE_FILE_BYTES = 64 * 1024 * 1024;
/** As Linux's limit on links followed in one path. */
const MAX_LINKS = 40;
const WRITABLE_BY_OTHERS = 0o022;
const STICKY = 0o1000;

/** The directory as resolved (no links), where it is trusted; missing when it is not there yet. */
export type CacheDirState = { dir: string } | { missing: true } | { refused: string };

/** The effective user, where the system has one (not on Windows). */
export const effectiveUid = (): number | undefined => process.geteuid?.();

const ownedBy = (stats: Stats, uid: number) => `owned by uid ${stats.uid}, not by you (uid ${uid})`;
const modeOf = (stats: Stats) => `mode ${(stats.mode & 0o7777).toString(8).padStart(4, "0")}`;

/**
 * Where `dir` really is, if it may hold the user's cache. With `create`, the parts of it
 * not there yet are made (mode 0700), each in a directory already found trusted, so
 * that nothing is ever created through a path someone else controls.
 */
export function inspectCacheDir(dir: string, create: boolean, uid = effectiveUid()): CacheDirState {
  if (uid === undefined) {
    if (create) mkdirSync(dir, { recursive: true });
    return { dir };
  }
  const pending = resolve(dir).split("/").filter(Boolean);
  let real = "";
  let stats: Stats | undefined;
  let links = 0;
  for (let name = pending.shift(); name !== undefined; name = pending.shift()) {
    if (name === ".") continue;
    if (name === "..") {
      real = real.slice(0, real.lastIndexOf("/")); // `real` has no links: its parent is the path's
      continue;
    }
    const path = `${real}/${name}`;
    stats = lstatSync(path, { throwIfNoEntry: false });
    if (stats === undefined) {
      if (!create) return { missing: true };
      try {
        mkdirSync(path, { mode: 0o700 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      stats = lstatSync(path); // ours, or whatever another process made first: checked as any other
    }
    if (stats.isSymbolicLink()) {
      if (stats.uid !== uid && stats.uid !== 0) return { refused: `${path} is a symbolic link ${ownedBy(stats, uid)}` };
      if (++links > MAX_LINKS) return { refused: `${dir} has too many symbolic links` };
      const target = readlinkSync(path);
      if (target.startsWith("/")) real = "";
      pending.unshift(...target.split("/").filter(Boolean));
      continue;
    }
    if (!stats.isDirectory()) return { refused: `${path} is not a directory` };
    if (stats.uid !== uid && stats.uid !== 0) return { refused: `${path} is ${ownedBy(stats, uid)}` };
    if ((stats.mode & WRITABLE_BY_OTHERS) !== 0 && (stats.mode & STICKY) === 0) {
      return { refused: `others than its owner can write ${path} (${modeOf(stats)})` };
    }
    real = path;
  }
  // The cache directory itself: the user's own, and not even a sticky one shared with others.
  if (stats === undefined) return { refused: `${dir} is the root directory` };
  if (stats.uid !== uid) return { refused: `${real} is ${ownedBy(stats, uid)}` };
  if ((stats.mode & WRITABLE_BY_OTHERS) !== 0) return { refused: `others than its owner can write ${real} (${modeOf(stats)})` };
  return { dir: real };
}

/** An open cache file and its size, or why it is not used; missing when it is not there. */
type CacheFileState = { fd: number; size: number } | { missing: true } | { refused: string };

/**
 * Opens a cache file without blocking (a FIFO in its place) and, unless `followLinks`,
 * without following a link (to /dev/zero, say); it must be a regular file of a bounded
 * size and, when `uid` is given, belong to that user and be writable by no one else.
 */
export function openCacheFile(path: string, options: { followLinks: boolean; uid: number | undefined }): CacheFileState {
  // Both flags are POSIX only; Windows has neither FIFOs nor links that open() would follow there.
  const flags = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (options.followLinks ? 0 : (constants.O_NOFOLLOW ?? 0));
  let fd: number;
  try {
    fd = openSync(path, flags);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { missing: true };
    return { refused: code === "ELOOP" ? "it is a symbolic link" : `it cannot be opened (${code ?? (error as Error).message})` };
  }
  const stats = fstatSync(fd);
  const refused = (reason: string) => {
    closeSync(fd);
    return { refused: reason };
  };
  if (!stats.isFile()) return refused("it is not a regular file");
  if (stats.size > MAX_CACHE_FILE_BYTES) return refused(`it is larger than ${MAX_CACHE_FILE_BYTES / 1024 / 1024} MiB`);
  const { uid } = options;
  if (uid !== undefined && stats.uid !== uid) return refused(`it is ${ownedBy(stats, uid)}`);
  if (uid !== undefined && (stats.mode & WRITABLE_BY_OTHERS) !== 0) return refused(`others than its owner can write it (${modeOf(stats)})`);
  return { fd, size: stats.size };
}
