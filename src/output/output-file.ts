// -o FILE: where the completion goes when it is a file. A regular file (or the
// regular file a symlink leads to) is replaced atomically, through a temporary
// file beside it that only lmc can have opened; a device, FIFO or socket, or a
// descriptor lmc was given (/dev/stdout), is written in place, as a shell's `>` would.

import { randomBytes } from "node:crypto";
import { unlinkSync, type Stats } from "node:fs";
import { lstat, open, readlink, realpath, rename, rm, type FileHandle } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { ExitCode, LmcError, systemErrorText } from "../errors.js";
import { openWaitingForPartner } from "../fifo-open.js";
import { streamingSink, type CompletionSink } from "./sinks.js";

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
  let next = path; // as written: a ".." in it is for the kernel to resolve, not the text
  for (let links = 0; ; links++) {
    const named = resolve(next);
    if (/^\/(proc|dev\/fd)\//.test(named)) {
      const fd = /^\/(?:dev\/fd|proc\/(?:self|thread-self)\/fd)\/(\d+)$/.exec(named)?.[1];
      return { kind: "inPlace", path: named, ...(fd === undefined ? {} : { fd: Number(fd) }) };
    }
    // The folder as the kernel finds it: "dl/../out" is beside dl's target, not beside dl.
    const folder = await realpath(dirname(next)).catch((error) => Promise.reject(cannotWrite(path, error)));
    const current = join(folder, basename(next));
    let stats: Stats;
    try {
      stats = await lstat(current);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "replace", path: current };
      throw cannotWrite(path, error);
    }
    if (stats.isFile()) return { kind: "replace", path: current, existing: stats };
    if (!stats.isSymbolicLink()) return { kind: "inPlace", path: current };
    if (links === MAX_LINKS) throw new LmcError(`cannot write ${path}: too many levels of symbolic links`, ExitCode.failed);
    const target = await readlink(current).catch((error) => Promise.reject(cannotWrite(path, error)));
    next = target.startsWith("/") ? target : `${folder}/${target}`;
  }
}

/**
 * A sink for -o PATH, opened before the request is sent, so an unwritable path
 * fails before any work is done. A regular file appears only on commit; a
 * device or FIFO gets the text as it comes, like stdout. `newFileMode` is the
 * mode a new file gets (0666 less the umask); `stdoutFd` is stdout's descriptor.
 */
export async function fileSink(
  path: string,
  { newFileMode, stdout, stdoutFd }: { newFileMode: number; stdout: NodeJS.WriteStream; stdoutFd: number | undefined },
  target?: OutputTarget,
): Promise<CompletionSink> {
  target ??= await outputTarget(path);
  if (target.kind === "replace") return replacingSink(path, target, newFileMode);
  // -o /dev/stdout: stdout itself, which may be a socket that cannot be opened by name.
  if (target.fd !== undefined && target.fd === stdoutFd) return streamingSink(stdout);
  return inPlaceSink(path, target.path);
}

async function inPlaceSink(path: string, device: string): Promise<CompletionSink> {
  let handle: FileHandle;
  try {
    // Append: a descriptor the shell opened with `>>` must not be truncated.
    handle = await openWaitingForPartner(device, "write", () => open(device, "a"));
  } catch (error) {
    throw cannotWrite(path, error);
  }
  const close = () => handle.close().catch(() => {});
  return {
    write: (text) => writeOrSay(handle, text, path),
    commit: close,
    discard: close,
  };
}

async function replacingSink(path: string, target: Extract<OutputTarget, { kind: "replace" }>, newFileMode: number): Promise<CompletionSink> {
  const { temporary, handle } = await createTemporary(path, target.path);
  const remove = async () => {
    await rm(temporary, { force: true });
    temporaries.delete(temporary);
  };
  return {
    write: (text) => writeOrSay(handle, text, path),
    async commit() {
      try {
        await handle.sync();
        const existing = target.existing;
        // The owner where allowed (as root, or a group of one's own), then the mode,
        // since a change of owner clears the set-user-ID bit.
        if (existing) await handle.chown(existing.uid, existing.gid).catch(() => {});
        await handle.chmod(existing ? existing.mode & 0o7777 : newFileMode);
        await handle.close();
        await rename(temporary, target.path);
        temporaries.delete(temporary);
      } catch (error) {
        await handle.close().catch(() => {});
        await remove();
        throw cannotWrite(path, error);
      }
    },
    async discard() {
      await handle.close().catch(() => {});
      await remove();
    },
  };
}

/**
 * A new file beside `target` that no one else can have made or opened: created
 * exclusively (a planted file or symlink at the name makes it fail, never
 * followed), named at random, and readable by its owner alone until complete.
 */
async function createTemporary(path: string, target: string): Promise<{ temporary: string; handle: FileHandle }> {
  for (let attempt = 1; ; attempt++) {
    const temporary = resolve(dirname(target), `.${basename(target)}.${randomBytes(8).toString("hex")}.lmc-tmp`);
    // Known to the exit hook before it exists: a second signal that lands while the
    // open is in flight must not leave the file behind. (Were the name taken, which
    // 64 random bits make as good as impossible, the file there would not be ours.)
    temporaries.add(temporary);
    try {
      const handle = await open(temporary, "wx", 0o600);
      return { temporary, handle };
    } catch (error) {
      temporaries.delete(temporary);
      if ((error as NodeJS.ErrnoException).code === "EEXIST" && attempt < 10) continue;
      throw cannotWrite(path, error);
    }
  }
}

/** The temporary files not yet renamed or removed. */
const temporaries = new Set<string>();

/**
 * Removes every temporary file still there. For the process's exit hook, so none
 * is left behind however lmc ends (a second Ctrl-C, a signal, an error).
 */
export function removeTemporaryFiles(): void {
  for (const temporary of temporaries) {
    try {
      unlinkSync(temporary);
    } catch {
      // Already gone.
    }
  }
  temporaries.clear();
}

function cannotWrite(path: string, error: unknown): LmcError {
  return new LmcError(`cannot write ${path}: ${systemErrorText(error)}`, ExitCode.failed, { cause: error });
}

/** Writes `text`; a failure (ENOSPC, EIO) says which file could not be written. */
async function writeOrSay(handle: FileHandle, text: string, path: string): Promise<void> {
  try {
    await handle.write(text);
  } catch (error) {
    throw cannotWrite(path, error);
  }
}
