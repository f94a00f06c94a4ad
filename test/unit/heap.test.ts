import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { HEAP_GROWING_PERCENT, heapFlags } from "../../src/batch/heap.js";

const run = promisify(execFile);

describe("heapFlags", () => {
  it("leaves Node versions it was not checked on alone", () => {
    expect(heapFlags("19.9.0")).toBeUndefined();
    expect(heapFlags("27.0.0")).toBeUndefined();
  });

  it("gives a flag that this Node's V8 knows, set without a word on stdout or stderr", async () => {
    const { stdout } = await run(process.execPath, ["--v8-options"]);
    expect(stdout).toContain("--heap-growing-percent");
    const flags = heapFlags(process.versions.node);
    expect(flags).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    const result = await run(process.execPath, ["-e", `require("node:v8").setFlagsFromString(${JSON.stringify(flags)})`]);
    expect(result).toMatchObject({ stdout: "", stderr: "" });
  });
});
