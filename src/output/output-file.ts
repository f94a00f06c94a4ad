// -o FILE: where the completion goes when it is a file (output-path.ts finds what
// FILE names). The completion is written to a temporary file beside it that only lmc
// can have opened, and reaches FILE only once it is whole: a new file by renaming the
// temporary file, an existing one by copying it in at the end, in place, as a shell's
// `>` writes, so FILE keeps all that guards it. A device, FIFO or socket, or a
// descriptor lmc was given (/dev/stdout), is written in place as the text comes.

import { randomBytes } from "node:crypto";
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { ExitCode, LmcError, systemErrorText } from "../errors.js";
import { openToAppend } from "../lib/fifo-open.js";
import { outputTarget, type OutputTarget } from "./output-path.js";
import { streamingSink, type CompletionSink } from "./sinks.js";

/**
 * A sink for -o PATH, opened before the request is sent, so an unwritable path
 * fails before any work is done. A regular file changes only on commit; a
 * device or FIFO gets the text as it comes, like stdout. `newFileMode` is the
 * mode a new file gets (0666 less the umask); `stdoutFd` is stdout's descriptor;
 * `signal` ends a wait for a FIFO's reader.
 */
export async function fileSink(
  path: string,
  { newFileMode, stdout, stdoutFd, signal }: { newFileMode: number; stdout: NodeJS.WriteStream; stdoutFd: number | undefined; signal?: AbortSignal },
  target?: OutputTarget,
): Promise<CompletionSink> {
  target ??= await outputTarget(path);
  if (target.kind === "replace") return replacingSink(path, target, newFileMode);
  // -o /dev/stdout: stdout itself, which may be a socket that cannot be opened by name.
  if (target.fd !== undefined && target.fd === stdoutFd) return streamingSink(stdout);
  return inPlaceSink(path, target, signal);
}

async function inPlaceSink(path: string, target: Extract<OutputTarget, { kind: "inPlace" }>, signal: AbortSignal | undefined): Promise<CompletionSink> {
  let file: Awaited<ReturnType<typeof openToAppend>>;
  try {
    // Append: a descriptor the shell opened with `>>` must not be truncated. A path
    // outputTarget resolved is no symlink, and one put there since is not followed;
    // /dev/fd/N and /dev/stdout are links by nature.
    file = await openToAppend(target.path, { follow: /^\/(proc|dev\/fd)\//.test(target.path), signal });
  } catch (error) {
    throw cannotWrite(path, error);
  }
  const close = () => file.close().catch(() => {});
  return {
    async write(text) {
      try {
        await file.write(text);
      } catch (error) {
        throw cannotWrite(path, error);
      }
    },
    commit: close,
    discard: close,
  };
}

async function replacingSink(path: string, target: Extract<OutputTarget, { kind: "replace" }>, newFileMode: number): Promise<CompletionSink> {
  // Opened now, so a file lmc may not write fails before any work is done, and the
  // file written at the end is the one found, whatever is put at its name meanwhile.
  const existing = target.existing && openExisting(path, target.path, target.existing);
  let temporary: string;
  let handle: FileHandle;
  try {
    ({ temporary, handle } = await createTemporary(path, target.path));
  } catch (error) {
    if (existing !== undefined) closeSync(existing);
    throw error;
  }
  const remove = async () => {
    await rm(temporary, { force: true });
    temporaries.delete(temporary);
  };
  return {
    write: (text) => writeOrSay(handle, text, path),
    async commit() {
      try {
        if (existing !== undefined) {
          await handle.close();
          copyInPlace(temporary, existing);
          await remove();
          return;
        }
        await handle.sync();
        await handle.chmod(newFileMode);
        await handle.close();
        await rename(temporary, target.path);
        temporaries.delete(temporary);
      } catch (error) {
        await handle.close().catch(() => {});
        await remove();
        throw cannotWrite(path, error);
      } finally {
        if (existing !== undefined) closeSync(existing);
      }
    },
    async discard() {
      if (existing !== undefined) closeSync(existing);
      await handle.close().catch(() => {});
      await remove();
    },
  };
}

/**
 * The existing regular file at `file`, open for writing, not truncated, and checked to
 * be the file outputTarget found (`found`): a symlink or another file put there
 * since is not followed or written.
 */
function openExisting(path: string, file: string, found: { dev: number; ino: number }): number {
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw cannotWrite(path, error);
  }
  const opened = fstatSync(fd);
  if (opened.dev !== found.dev || opened.ino !== found.ino || !opened.isFile()) {
    closeSync(fd);
    throw new LmcError(`cannot write ${path}: it was replaced while lmc looked at it`, ExitCode.failed);
  }
  return fd;
}

/**
 * Copies the whole completion from `temporary` into the existing file, in place, as
 * `>` would write it: the file keeps its inode, owner, group, mode, ACLs, other
 * attributes and hard links, none of which a rename could keep for certain (Node
 * cannot read ACLs). Synchronous on purpose: a signal's handler cannot run until the
 * copy is done, so only SIGKILL or a crash can leave the file part-written.
 *
 * What the file grows by is written first, past its old end: when the disk is full
 * (or a quota reached) that fails with the old content untouched, and the file is cut
 * back to its old length. Only then is the old content overwritten, on blocks the
 * file already has, and the file cut to the new length.
 */
function copyInPlace(temporary: string, fd: number): void {
  const source = openSync(temporary, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const oldLength = fstatSync(fd).size;
    const newLength = fstatSync(source).size;
    if (newLength > oldLength) {
      try {
        copyRange(source, fd, oldLength, newLength);
      } catch (error) {
        try {
          ftruncateSync(fd, oldLength);
        } catch {
          // The error that matters is the first.
        }
        throw error;
      }
    }
    copyRange(source, fd, 0, Math.min(oldLength, newLength));
    ftruncateSync(fd, newLength);
    fsyncSync(fd);
  } finally {
    closeSync(source);
  }
}

/** Bytes `start` to `end` of `source` written at the same positions of `fd`. */
function copyRange(source: number, fd: number, start: number, end: number): void {
  const buffer = Buffer.allocUnsafe(64 * 1024);
  for (let position = start; position < end;) {
    const length = readSync(source, buffer, 0, Math.min(buffer.length, end - position), position);
    if (length === 0) break;
    for (let written = 0; written < length;) written += writeSync(fd, buffer, written, length - written, position + written);
    position += length;
  }
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
