import { openSync, readFileSync, closeSync, type writeSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { writeDirect } from "../../src/output/write-direct.js";
import { tempDir } from "../temp-dir.js";

const bytes = Buffer.from("lmc 0.1.0\n");

/** A write that takes at most `chunk` bytes a call, then fails with `code` once `limit` bytes are in. */
function fakeWrite(chunk: number, limit: number, code: string, taken: Buffer[]): typeof writeSync {
  let total = 0;
  return ((_fd: number, buffer: Uint8Array, offset: number) => {
    if (total >= limit) throw Object.assign(new Error(code), { code });
    const n = Math.min(chunk, limit - total, buffer.length - offset);
    taken.push(Buffer.from(buffer.subarray(offset, offset + n)));
    total += n;
    return n;
  }) as typeof writeSync;
}

it("writes all of a text to a file", () => {
  const path = join(tempDir("write-direct"), "out");
  const fd = openSync(path, "w");
  try {
    expect(writeDirect(fd, bytes)).toBe(bytes.length);
  } finally {
    closeSync(fd);
  }
  expect(readFileSync(path, "utf8")).toBe("lmc 0.1.0\n");
});

it("goes on after a short write, and says how far it got when the descriptor fails", () => {
  const taken: Buffer[] = [];
  expect(writeDirect(1, bytes, fakeWrite(3, 7, "EAGAIN", taken))).toBe(7);
  expect(Buffer.concat(taken).toString()).toBe("lmc 0.1");
});

it("returns 0 without throwing when the first write fails (EPIPE)", () => {
  expect(writeDirect(1, bytes, fakeWrite(100, 0, "EPIPE", []))).toBe(0);
});

it("stops at a write that takes nothing", () => {
  const none = (() => 0) as unknown as typeof writeSync;
  expect(writeDirect(1, bytes, none)).toBe(0);
});
