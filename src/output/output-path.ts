// -o PATH: what it names, found as the kernel finds it, one component and one symlink
// at a time, and refused where the kernel's guards for shared folders would refuse a
// shell's `>` (fs.protected_symlinks, fs.protected_regular, fs.protected_fifos), whatever
// the system's settings: in a folder with the sticky bit that everyone may write
// (/tmp), a symlink or file another user planted is not followed or taken over, unless
// that user owns the folder too.

import type { Stats } from "node:fs";
import { lstat, readlink, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { ExitCode, LmcError, systemErrorText } from "../errors.js";

/** How `-o PATH` is written. */
export type OutputTarget =
  /** A regular file, new (no `existing`) or replaced; `path` is where a symlink chain ends. */
  | { kind: "replace"; path: string; existing?: Stats }
  /** A device, FIFO, socket or descriptor: opened and written as it is; `fd` for /dev/fd/N and the like. */
  | { kind: "inPlace"; path: string; fd?: number };

/** The limit of symlinks followed, as the kernel's (ELOOP). */
const MAX_LINKS = 40;

/**
 * Follows `path` through its symlinks to what it names. A dangling symlink names
 * the file it points to, which is created (as `>` in a shell does). Paths under
 * /proc and /dev/fd are descriptors of this process (/dev/stdout leads there):
 * their links are not ordinary paths, and the file behind one may be appended to.
 */
export async function outputTarget(path: string): Promise<OutputTarget> {
  if (process.platform === "win32") return windowsTarget(path);
  // "out.txt/" or "out.txt/." names a folder, never the file out.txt (as for `>`).
  if (path.endsWith("/") || /(^|\/)\.\.?$/.test(path)) throw await notAFile(path);
  const pending = components(path);
  let folder = path.startsWith("/") ? "/" : process.cwd(); // always a real path: no link in it
  let links = 0;
  const shared = new SharedFolders();
  for (;;) {
    const named = resolve(folder, ...pending);
    if (/^\/(proc|dev\/fd)\//.test(named)) {
      const fd = /^\/(?:dev\/fd|proc\/(?:self|thread-self)\/fd)\/(\d+)$/.exec(named)?.[1];
      return { kind: "inPlace", path: named, ...(fd === undefined ? {} : { fd: Number(fd) }) };
    }
    const name = pending.shift();
    if (name === undefined) throw cannotWrite(path, "is a directory"); // a link to ".." or the like
    if (name === "..") {
      folder = dirname(folder); // of a real path: where the kernel's ".." leads
      continue;
    }
    const here = join(folder, name);
    const last = pending.length === 0;
    let stats: Stats;
    try {
      stats = await lstat(here);
    } catch (error) {
      if (last && (error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "replace", path: here };
      throw cannotWrite(path, systemErrorText(error), error);
    }
    if (stats.isSymbolicLink()) {
      if (await shared.planted(folder, stats))
        throw cannotWrite(path, "permission denied (a symlink another user put in a shared folder with the sticky bit is not followed)");
      if (++links > MAX_LINKS) throw cannotWrite(path, "too many levels of symbolic links");
      const target = await readlink(here).catch((error) => Promise.reject(cannotWrite(path, systemErrorText(error), error)));
      if (target.startsWith("/")) folder = "/";
      pending.unshift(...components(target));
      continue;
    }
    if (!last) {
      if (!stats.isDirectory()) throw cannotWrite(path, "not a directory");
      folder = here;
      continue;
    }
    if ((stats.isFile() || stats.isFIFO()) && (await shared.planted(folder, stats))) {
      throw cannotWrite(path, "permission denied (a file another user put in a shared folder with the sticky bit is not taken over)");
    }
    return stats.isFile() ? { kind: "replace", path: here, existing: stats } : { kind: "inPlace", path: here };
  }
}

/**
 * On Windows, the path as it is (a drive, backslashes): the walk above knows POSIX
 * paths only, and Windows has none of the kernel's guards it mirrors.
 */
async function windowsTarget(path: string): Promise<OutputTarget> {
  const full = resolve(path);
  const stats = await stat(full).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw cannotWrite(path, systemErrorText(error), error);
  });
  if (stats === undefined) return { kind: "replace", path: full };
  if (stats.isDirectory()) throw cannotWrite(path, "is a directory");
  return stats.isFile() ? { kind: "replace", path: full, existing: stats } : { kind: "inPlace", path: full };
}

/** The names of a path's components, "." left out and ".." kept. */
function components(path: string): string[] {
  return path.split("/").filter((name) => name !== "" && name !== ".");
}

/** The kernel's rule for a folder with the sticky bit that everyone may write, such as /tmp. */
class SharedFolders {
  private readonly euid = process.geteuid?.();
  private readonly folders = new Map<string, Promise<Stats>>();

  /** Whether `entry` in `folder` is another user's, planted there: neither the user's nor the folder owner's. */
  async planted(folder: string, entry: Stats): Promise<boolean> {
    if (this.euid === undefined || entry.uid === this.euid) return false;
    let folderStats = this.folders.get(folder);
    if (!folderStats) this.folders.set(folder, (folderStats = stat(folder)));
    const { mode, uid } = await folderStats;
    return (mode & 0o1002) === 0o1002 && entry.uid !== uid;
  }
}

/** What `>` says of a path that names a folder: the folder is one, or a file on the way is not. */
async function notAFile(path: string): Promise<LmcError> {
  try {
    await stat(path);
    return cannotWrite(path, "is a directory");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR") return cannotWrite(path, "not a directory");
    // "new/" where new does not exist: open(2) makes no file of a name that ends in "/".
    if (
      code === "ENOENT" &&
      path.endsWith("/") &&
      (await stat(dirname(path)).then(
        (s) => s.isDirectory(),
        () => false,
      ))
    ) {
      return cannotWrite(path, "is a directory");
    }
    return cannotWrite(path, systemErrorText(error), error);
  }
}

function cannotWrite(path: string, why: string, cause?: unknown): LmcError {
  return new LmcError(`cannot write ${path}: ${why}`, ExitCode.failed, { cause });
}
