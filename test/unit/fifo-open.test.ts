import { execFileSync, spawn } from "node:child_process";
import { closeSync, constants, openSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openToAppend, openToRead, readNamedFile } from "../../src/lib/fifo-open.js";
import { tempDir } from "../temp-dir.js";

function fifo(): string {
  const path = join(tempDir("fifo-open"), "fifo");
  execFileSync("mkfifo", [path]);
  return path;
}

describe("openToRead", () => {
  it("opens a FIFO with no writer at once, and reads what a writer that comes later writes", async () => {
    const path = fifo();
    const file = await openToRead(path); // a blocking open would wait here for ever
    expect(file.stats.isFIFO()).toBe(true);
    const writer = spawn("sh", ["-c", 'printf "one\\ntwo\\n" > "$0"', path]);
    const chunks: Buffer[] = [];
    for await (const chunk of file.chunks()) chunks.push(chunk);
    await file.close();
    expect(Buffer.concat(chunks).toString()).toBe("one\ntwo\n");
    writer.kill();
  });

  it("ends, empty, when a writer opens the FIFO and closes it without writing", async () => {
    const path = fifo();
    const read = readNamedFile(path);
    await new Promise((resolve) => setTimeout(resolve, 0));
    const writer = spawn("sh", ["-c", ': > "$0"', path]);
    expect(await read).toBe("");
    writer.kill();
  });

  it("reads what a writer that was waiting first writes, to its end", async () => {
    const path = fifo();
    const writer = spawn("sh", ["-c", 'printf "early\\n" > "$0"', path]);
    await new Promise((resolve) => writer.on("spawn", resolve));
    expect(await readNamedFile(path)).toBe("early\n");
  });

  it("reads a regular file whole, and at a position", async () => {
    const path = join(tempDir("fifo-open"), "file.txt");
    writeFileSync(path, "0123456789");
    expect(await readNamedFile(path)).toBe("0123456789");
    const file = await openToRead(path);
    const buffer = Buffer.alloc(3);
    expect(await file.readAt(buffer, 4)).toBe(3);
    expect(buffer.toString()).toBe("456");
    await file.close();
  });
});

describe("openToAppend", () => {
  it("waits for a FIFO's reader without being one, then writes to it", async () => {
    const path = fifo();
    const opening = openToAppend(path, { follow: false });
    // No reader yet: lmc must not be one either, or this open would succeed.
    expect(() => openSync(path, constants.O_WRONLY | constants.O_NONBLOCK)).toThrow(/ENXIO/);
    const reader = spawn("cat", [path]);
    let read = "";
    reader.stdout.setEncoding("utf8").on("data", (chunk: string) => (read += chunk));
    const file = await opening;
    await file.write("hello\n");
    await file.close();
    await new Promise((resolve) => reader.on("close", resolve));
    expect(read).toBe("hello\n");
  });

  it("never opens what replaced the FIFO while it waited", async () => {
    const dir = tempDir("fifo-open");
    const path = join(dir, "out");
    execFileSync("mkfifo", [path]);
    // The swap must come while it waits: before its first look, the file would simply be what the path names.
    let onWaiting!: () => void;
    const waiting = new Promise<void>((resolve) => (onWaiting = resolve));
    const opening = openToAppend(path, { follow: false, onWaiting });
    await waiting;
    writeFileSync(join(dir, "other"), "precious\n");
    renameSync(join(dir, "other"), path);
    await expect(opening).rejects.toThrow(/replaced while lmc waited for it/);
    expect(readFileSync(path, "utf8")).toBe("precious\n");
  });

  it("stops waiting when its signal aborts", async () => {
    const path = fifo();
    const stop = new AbortController();
    const opening = openToAppend(path, { follow: false, signal: stop.signal });
    stop.abort(new Error("stopped"));
    await expect(opening).rejects.toThrow("stopped");
    // And it left no end of the FIFO open behind it.
    expect(() => closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK))).toThrow(/ENXIO/);
  });
});
