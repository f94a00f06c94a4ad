// The temporary file of -o is created exclusively: with its random name made
// predictable here, a symlink planted at that name is never followed.

import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, it, vi } from "vitest";
import { fileSink } from "../../src/output/output-file.js";
import { tempDir } from "../temp-dir.js";

vi.mock("node:crypto", async (importOriginal) => ({
  ...(await importOriginal<typeof import("node:crypto")>()),
  randomBytes: (size: number) => Buffer.alloc(size, 0xab),
}));

it("fails rather than follow a symlink at the temporary file's name", async () => {
  const dir = tempDir("exclusive");
  const victim = join(tempDir("victim"), "victim.txt");
  writeFileSync(victim, "precious\n");
  symlinkSync(victim, join(dir, `.out.txt.${"ab".repeat(8)}.lmc-tmp`));
  await expect(fileSink(join(dir, "out.txt"), { newFileMode: 0o644, stdout: process.stdout, stdoutFd: 1 })).rejects.toMatchObject({
    message: expect.stringMatching(/: file already exists$/),
    cause: { code: "EEXIST" },
  });
  expect(readFileSync(victim, "utf8")).toBe("precious\n");
});
