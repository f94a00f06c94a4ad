// --stats-file's writer: each line one write(2) to a file opened with O_APPEND, so lines
// written at once by several writers (several lmc processes) never interleave.

import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openStatsFile } from "../../src/output/stats-file.js";
import { tempDir } from "../temp-dir.js";

const signal = new AbortController().signal;

describe("openStatsFile", () => {
  it("appends after what FILE holds, and makes FILE when it is missing", async () => {
    const dir = tempDir("stats-file");
    writeFileSync(join(dir, "old.jsonl"), "{}\n");
    for (const name of ["old.jsonl", "new.jsonl"]) {
      const stats = await openStatsFile(join(dir, name), { signal });
      await stats.write('{"a":1}\n');
      await stats.close();
    }
    expect(readFileSync(join(dir, "old.jsonl"), "utf8")).toBe('{}\n{"a":1}\n');
    expect(readFileSync(join(dir, "new.jsonl"), "utf8")).toBe('{"a":1}\n');
    expect(statSync(join(dir, "new.jsonl")).mode & 0o777).toBe(0o666 & ~process.umask());
  });

  it("lines written at once by several writers stay whole, however long", async () => {
    const file = join(tempDir("stats-file"), "stats.jsonl");
    const writers = await Promise.all([0, 1, 2, 3].map(() => openStatsFile(file, { signal })));
    // Lines far longer than a page, written all at once: split writes would interleave.
    const line = (writer: number, n: number) => `${JSON.stringify({ writer, n, pad: String(writer).repeat(200_000) })}\n`;
    await Promise.all(writers.flatMap((writer, w) => Array.from({ length: 20 }, (_, n) => writer.write(line(w, n)))));
    await Promise.all(writers.map((writer) => writer.close()));
    const lines = readFileSync(file, "utf8").split("\n").filter(Boolean);
    expect(lines).toHaveLength(80);
    for (const text of lines) {
      const record = JSON.parse(text) as { writer: number; n: number; pad: string };
      expect(record.pad).toBe(String(record.writer).repeat(200_000));
    }
  });

  it("refuses a folder, in words", async () => {
    await expect(openStatsFile(tempDir("stats-file"), { signal })).rejects.toThrow(/^cannot write .*: is a directory$/);
  });
});
