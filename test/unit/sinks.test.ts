import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { bufferedSink, ReaderGoneError, streamingSink } from "../../src/output/sinks.js";

/** A stdout stand-in whose reader takes `delayMs` per chunk and keeps a small buffer. */
function slowStdout(delayMs: number, isTTY = false) {
  const received: string[] = [];
  let maxBuffered = 0;
  const stream = new Writable({
    highWaterMark: 64,
    write(chunk, _encoding, done) {
      received.push(chunk.toString());
      setTimeout(done, delayMs);
    },
  });
  const write = stream.write.bind(stream);
  stream.write = ((...args: Parameters<typeof write>) => {
    const ok = write(...args);
    maxBuffered = Math.max(maxBuffered, stream.writableLength);
    return ok;
  }) as typeof stream.write;
  Object.assign(stream, { isTTY });
  return { stream: stream as unknown as NodeJS.WriteStream, received, maxBuffered: () => maxBuffered };
}

describe("streamingSink", () => {
  it("waits for a slow reader instead of buffering without bound, and loses nothing", async () => {
    const stdout = slowStdout(1);
    const sink = streamingSink(stdout.stream);
    const pieces = Array.from({ length: 300 }, (_, i) => `piece ${i} `);
    for (const piece of pieces) await sink.write(piece);
    await sink.commit();
    expect(stdout.received.join("")).toBe(pieces.join(""));
    expect(stdout.maxBuffered()).toBeLessThan(64 + 20);
  });

  it("adds a final newline on a terminal only", async () => {
    for (const [isTTY, expected] of [
      [true, "text\n"],
      [false, "text"],
    ] as const) {
      const stdout = slowStdout(0, isTTY);
      const sink = streamingSink(stdout.stream);
      await sink.write("text");
      await sink.commit();
      expect(stdout.received.join("")).toBe(expected);
    }
  });

  it("turns a closed pipe into ReaderGoneError", async () => {
    const stream = new Writable({
      write(_chunk, _encoding, done) {
        done(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
      },
    }) as unknown as NodeJS.WriteStream;
    const sink = streamingSink(stream);
    await sink.write("a").catch(() => {});
    await expect(sink.write("b")).rejects.toBeInstanceOf(ReaderGoneError);
  });
});

describe("bufferedSink", () => {
  it("writes nothing until commit, and nothing at all on discard", async () => {
    const stdout = slowStdout(0);
    const sink = bufferedSink(stdout.stream);
    await sink.write("a");
    await sink.write("b");
    expect(stdout.received).toEqual([]);
    await sink.commit();
    expect(stdout.received.join("")).toBe("ab");

    const other = slowStdout(0);
    const discarded = bufferedSink(other.stream);
    await discarded.write("a");
    await discarded.discard();
    expect(other.received).toEqual([]);
  });
});
