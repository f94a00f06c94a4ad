import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { HEAP_GROWING_PERCENT, keepHeapNearLiveData } from "../../src/batch/heap.js";

const run = promisify(execFile);

describe("keepHeapNearLiveData", () => {
  it("leaves Node versions it was not checked on alone", () => {
    expect(keepHeapNearLiveData("19.9.0")).toBe(false);
    expect(keepHeapNearLiveData("26.0.0")).toBe(false);
  });

  it("sets a flag that this Node's V8 knows, without a word on stdout or stderr", async () => {
    const { stdout } = await run(process.execPath, ["--v8-options"]);
    expect(stdout).toContain("--heap-growing-percent");
    const script = `require("node:v8").setFlagsFromString("--heap-growing-percent=${HEAP_GROWING_PERCENT}")`;
    const result = await run(process.execPath, ["-e", script]);
    expect(result).toMatchObject({ stdout: "", stderr: "" });
    expect(keepHeapNearLiveData(process.versions.node)).toBe(true);
  });
});
