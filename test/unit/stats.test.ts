import { describe, expect, it } from "vitest";
import { formatStats } from "../../src/stats.js";

const model = { key: "k", displayName: "K", identifier: "k:1" };

describe("formatStats", () => {
  it("writes one JSON line with the documented fields in a stable order", () => {
    const line = formatStats({
      model,
      stats: {
        stopReason: "stopStringFound", stopString: ".", predictedTokensCount: 5, promptTokensCount: 3,
        totalTokensCount: 8, timeToFirstTokenSec: 0.01, tokensPerSecond: 500, totalTimeSec: 0.02, numGpuLayers: 0,
      },
    });
    expect(line.endsWith("\n")).toBe(true);
    expect(line.indexOf("\n")).toBe(line.length - 1);
    expect(Object.keys(JSON.parse(line))).toEqual([
      "model", "stopReason", "stopString", "predictedTokensCount", "promptTokensCount", "totalTokensCount",
      "timeToFirstTokenSec", "tokensPerSecond", "totalTimeSec",
    ]);
  });
  it("leaves out what LM Studio did not report", () => {
    expect(JSON.parse(formatStats({ model, stats: { stopReason: "eosFound" } }))).toEqual({ model, stopReason: "eosFound" });
  });
});
