// Opening a file the user named (-o's devices and FIFOs, --schema, --resume,
// --each-file) without ever waiting in open(2). A plain open of a FIFO waits, in one
// of libuv's threads, for the FIFO's other end: a wait that no signal cuts short, and
// that keeps Node from exiting (it joins those threads at exit). So lmc opens what it
// reads with O_NONBLOCK, which for a FIFO's reading end succeeds at once, and lets the
// event loop wait for a writer's data or its end; and it opens a FIFO it writes with
// O_NONBLOCK too, which fails (ENXIO) until a reader is there, trying again every
// POLL_MS. lmc is thus never the other end of a FIFO it was told to use: another
// process waiting on the same FIFO is never handed a phantom partner, however lmc ends.

import { close, constants, fstat, lstat, open, read, stat, write, type Stats } from "node:fs";
// Loaded when a FIFO is met, not at start (scripts/bundle-options.ts): no ordinary run needs it.
import { Socket } from "node:net";

const { O_RDONLY, O_WRONLY, O_APPEND, O_NONBLOCK, O_NOCTTY, O_NOFOLLOW } = constants;

/** How often lmc tries again: a FIFO with no reader yet, a device with nothing to read or no room. */
const POLL_MS = 50;

/** A file opened for reading: a regular file, a device, or a FIFO. */
export interface NamedFileReader {
  /** What was opened (not what the path names now). */
  readonly stats: Stats;
  /** Its bytes from the start to the end; a FIFO's until its last writer closes it. */
  chunks(): AsyncGenerator<Buffer>;
  /** Reads into `buffer` from `position` of a regular file; resolves to the bytes read. */
  readAt(buffer: Buffer, position: number): Promise<number>;
  close(): Promise<void>;
}

/** Opens `path` for reading without waiting for anything: a FIFO's writer is waited for by chunks(). */
export async function openToRead(path: string): Promise<NamedFileReader> {
  const fd = await callback<number>((done) => open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY, done));
  let stats: Stats;
  try {
    stats = await callback<Stats>((done) => fstat(fd, done));
  } catch (error) {
    close(fd, () => {});
    throw error;
  }
  return stats.isFIFO() ? fifoReader(fd, stats) : fileReader(fd, stats);
}

/** The whole of a file the user named, as UTF-8 text. */
export async function readNamedFile(path: string): Promise<string> {
  const file = await openToRead(path);
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of file.chunks()) chunks.push(chunk);
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    await file.close();
  }
}

function fileReader(fd: number, stats: Stats): NamedFileReader {
  const readAt = (buffer: Buffer, position: number | null) => callback<number>((done) => read(fd, buffer, 0, buffer.length, position, done));
  return {
    stats,
    async *chunks() {
      // A regular file from its start; a device (a terminal, say) from where it stands.
      let position = stats.isFile() ? 0 : null;
      for (;;) {
        const buffer = Buffer.allocUnsafe(64 * 1024);
        let length: number;
        try {
          length = await readAt(buffer, position);
        } catch (error) {
          // Opened without blocking: a terminal with nothing typed yet says so.
          if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
          await pause(POLL_MS);
          continue;
        }
        if (length === 0) return;
        if (position !== null) position += length;
        yield buffer.subarray(0, length);
      }
    },
    readAt,
    close: () => callback<void>((done) => close(fd, done)),
  };
}

/**
 * A FIFO's reading end as a stream of the event loop: it waits for data without a
 * thread, and ends when the last writer closes the FIFO (not before the first one
 * came: Linux reports no hang-up to a reader that never had a writer).
 */
function fifoReader(fd: number, stats: Stats): NamedFileReader {
  const socket = new Socket({ fd, readable: true, writable: false });
  return {
    stats,
    async *chunks() {
      for await (const chunk of socket) yield chunk as Buffer;
    },
    readAt: () => Promise.reject(new Error("a FIFO has no positions")),
    close: async () => void socket.destroy(),
  };
}

/** A device, FIFO or descriptor opened for appending to. */
interface NamedFileWriter {
  readonly stats: Stats;
  /** Resolves once the text is handed to the kernel. */
  write(text: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens `path` (a device, FIFO or descriptor) to append to it. A FIFO with no reader
 * is tried again until one comes or `signal` aborts, and only while `path` is still
 * that FIFO (same device and inode): a path swapped meanwhile is not opened. With
 * `follow` false, a symlink at `path` is not followed (the path is already resolved).
 * `onWaiting` is called once, when the first try finds no reader.
 */
export async function openToAppend(
  path: string,
  { follow, signal, onWaiting }: { follow: boolean; signal?: AbortSignal; onWaiting?: () => void },
): Promise<NamedFileWriter> {
  const flags = O_WRONLY | O_APPEND | O_NONBLOCK | O_NOCTTY | (follow ? 0 : O_NOFOLLOW);
  const found = await callback<Stats>((done) => (follow ? stat : lstat)(path, done));
  let fd: number;
  for (;;) {
    try {
      fd = await callback<number>((done) => open(path, flags, done));
      break;
    } catch (error) {
      // ENXIO is also a socket's answer, which no wait changes.
      if ((error as NodeJS.ErrnoException).code !== "ENXIO" || !found.isFIFO()) throw error;
      onWaiting?.();
      onWaiting = undefined;
      await pause(POLL_MS, signal);
      const now = await callback<Stats>((done) => (follow ? stat : lstat)(path, done));
      if (!sameFile(found, now)) throw changedMeanwhile();
    }
  }
  const stats = await callback<Stats>((done) => fstat(fd, done));
  if (!sameFile(found, stats)) {
    close(fd, () => {});
    throw changedMeanwhile();
  }
  return stats.isFIFO() ? fifoWriter(fd, stats) : deviceWriter(fd, stats);
}

function deviceWriter(fd: number, stats: Stats): NamedFileWriter {
  return {
    stats,
    async write(text) {
      const bytes = Buffer.from(text);
      for (let written = 0; written < bytes.length;) {
        try {
          written += await callback<number>((done) => write(fd, bytes, written, bytes.length - written, null, done));
        } catch (error) {
          // Opened without blocking: a terminal that is flow-controlled says so.
          if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
          await pause(POLL_MS);
        }
      }
    },
    close: () => callback<void>((done) => close(fd, done)),
  };
}

/** A FIFO's writing end as a stream of the event loop, which waits for room without a thread. */
function fifoWriter(fd: number, stats: Stats): NamedFileWriter {
  const socket = new Socket({ fd, readable: false, writable: true });
  let failure: Error | undefined;
  socket.on("error", (error) => (failure ??= error));
  return {
    stats,
    write: (text) =>
      new Promise<void>((resolve, reject) => {
        if (failure) return reject(failure);
        socket.write(text, (error) => (error || failure ? reject(error ?? failure) : resolve()));
      }),
    close: async () => void socket.destroy(),
  };
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

function changedMeanwhile(): Error {
  return new Error("it was replaced while lmc waited for it");
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => (clearTimeout(timer), reject(signal?.reason));
    const timer = setTimeout(() => (signal?.removeEventListener("abort", onAbort), resolve()), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function callback<T>(call: (done: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => call((error, value) => (error ? reject(error) : resolve(value))));
}
