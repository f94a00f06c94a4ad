// A temporary folder for the running test, removed when it ends, passed or failed.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onTestFinished } from "vitest";

export function tempDir(purpose: string): string {
  const dir = mkdtempSync(join(tmpdir(), `lmc-${purpose}-`));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
