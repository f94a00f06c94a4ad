// LM Studio's default port, 1234, is shared by every test run on the machine: the
// getting-started tests serve on it, or need it held by someone else. Tests that care
// take this lock (a folder, created atomically) for the time
// they depend on the port; a lock older than two minutes is left over from a killed run.

import { mkdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const DEFAULT_PORT = 1234;
const lock = join(tmpdir(), `lmc-test-port-${DEFAULT_PORT}.lock`);
const STALE_MS = 120_000;

export async function withDefaultPort<T>(work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_MS) rmSync(lock, { recursive: true, force: true });
      else await sleep(100);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
