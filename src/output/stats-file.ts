// --stats-file FILE: where the stats line goes instead of stderr, appended, one line
// per run, so that a Makefile can collect the lines of many runs in one file. FILE is
// found as -o's is (output-path.ts: a symlink or file another user planted in a shared
// folder is refused) and opened before LM Studio is asked, so a FILE that cannot be
// written fails the run before any work is done. Each line is one write(2) to a file
// opened with O_APPEND: lines of lmc processes appending at once never interleave.

import { close, constants, fstat, open, write, type Stats } from "node:fs";
import { ExitCode, LmcError, systemErrorText } from "../errors.js";
import { openToAppend } from "../lib/fifo-open.js";
import { outputTarget } from "./output-path.js";

const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW, O_NONBLOCK, O_NOCTTY } = constants;

/** Where the stats line is written. */
export interface StatsOutput {
  /** Writes one line, whole. */
  write(line: string): Promise<void>;
  close(): Promise<void>;
}

/** The stats on stderr, as lmc writes them without --stats-file. */
export function statsToStream(stream: NodeJS.WritableStream): StatsOutput {
  return {
    write: async (line) => void stream.write(line),
    close: async () => {},
  };
}

/**
 * FILE, open to append to: a regular file (created, 0666 less the umask, when
 * missing), or a device, FIFO or descriptor written in place. A FIFO with no reader
 * is waited for until `signal` aborts. `stderr` stands for descriptor 2
 * (/dev/stderr), which may be a socket that cannot be opened by name.
 */
export async function openStatsFile(path: string, { signal, stderr }: { signal: AbortSignal; stderr?: NodeJS.WritableStream }): Promise<StatsOutput> {
  const target = await outputTarget(path);
  if (target.kind === "inPlace") {
    if (target.fd === 2 && stderr) return statsToStream(stderr);
    try {
      // /dev/fd/N and /dev/stderr are links by nature; any other path was resolved, and a link put there since is not followed.
      const file = await openToAppend(target.path, { follow: /^\/(proc|dev\/fd)\//.test(target.path), signal });
      return { write: (line) => file.write(line).catch((error) => Promise.reject(cannotWrite(path, error))), close: () => file.close() };
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw cannotWrite(path, error);
    }
  }
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink put at the resolved name since is not followed.
    fd = await callback<number>((done) => open(target.path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0o666, done));
  } catch (error) {
    throw cannotWrite(path, error);
  }
  const opened = await callback<Stats>((done) => fstat(fd, done));
  if (!opened.isFile() || !isTheFileFound(opened, target.existing)) {
    close(fd, () => {});
    throw new LmcError(`cannot write ${path}: it was replaced while lmc looked at it`, ExitCode.failed);
  }
  return {
    async write(line) {
      // One write(2) for the whole line: O_APPEND puts it at the end as one piece.
      const bytes = Buffer.from(line);
      try {
        for (let written = 0; written < bytes.length;)
          written += await callback<number>((done) => write(fd, bytes, written, bytes.length - written, null, done));
      } catch (error) {
        throw cannotWrite(path, error);
      }
    },
    close: () => callback<void>((done) => close(fd, done)),
  };
}

/**
 * The file opened is the one outputTarget found, or, when it found none, one lmc
 * created or one of the user's own put there meanwhile: another user's planted in between is not written.
 */
function isTheFileFound(opened: Stats, found: Stats | undefined): boolean {
  if (found) return opened.dev === found.dev && opened.ino === found.ino;
  const euid = process.geteuid?.();
  return euid === undefined || opened.uid === euid;
}

function cannotWrite(path: string, error: unknown): LmcError {
  return new LmcError(`cannot write ${path}: ${systemErrorText(error)}`, ExitCode.failed, { cause: error });
}

function callback<T>(call: (done: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => call((error, value) => (error ? reject(error) : resolve(value))));
}
