// What every error of lmc looks like on stderr: one line, "lmc: " first, and no
// stack trace or SDK error box.

import { expect } from "vitest";
import type { LmcResult } from "./lmc-process.js";

export function expectOneErrorLine(result: LmcResult, pattern: RegExp): void {
  const lines = result.stderr.split("\n").filter(Boolean);
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^lmc: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/^\s+at |STACK TRACE|[\u2500-\u257f]/m);
}
