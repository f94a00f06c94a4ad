import { describe, expect, it } from "vitest";
import { formatStats, rate, seconds } from "../../src/prediction/stats.js";

const model = { key: "k", displayName: "K", identifier: "k:1" };

describe("formatStats", () => {
  it("writes one JSON line with the documented fields in a stable order", () => {
    const line = formatStats({
      model,
      stats: {
        stopReason: "stopStringFound",
        stopString: ".",
        predictedTokensCount: 5,
        promptTokensCount: 3,
        totalTokensCount: 8,
        timeToFirstTokenSec: 0.01,
        tokensPerSecond: 500,
        totalTimeSec: 0.02,
        numGpuLayers: 0,
      },
    });
    expect(line.endsWith("\n")).toBe(true);
    expect(line.indexOf("\n")).toBe(line.length - 1);
    expect(Object.keys(JSON.parse(line))).toEqual([
      "model",
      "stopReason",
      "stopString",
      "predictedTokensCount",
      "promptTokensCount",
      "totalTokensCount",
      "timeToFirstTokenSec",
      "tokensPerSecond",
      "totalTimeSec",
    ]);
  });
  it("leaves out what LM Studio did not report", () => {
    expect(JSON.parse(formatStats({ model, stats: { stopReason: "eosFound" } }))).toEqual({ model, stopReason: "eosFound" });
  });
});

describe("the stats' floats", () => {
  it("are rounded: times to the microsecond, tokens per second to two decimals", () => {
    const stats = JSON.parse(
      formatStats({
        model,
        stats: { stopReason: "eosFound", timeToFirstTokenSec: 0.009810187000000041, tokensPerSecond: 751.0966950618729, totalTimeSec: 0.021259619999998904 },
      }),
    );
    expect(stats).toMatchObject({ timeToFirstTokenSec: 0.00981, tokensPerSecond: 751.1, totalTimeSec: 0.02126 });
  });
  it("keep their value when already short", () => {
    expect(seconds(1.5)).toBe(1.5);
    expect(rate(1500)).toBe(1500);
    expect(seconds(0.0000004)).toBe(0);
  });
});

describe("the server's numbers, checked before they are written", () => {
  const written = (stats: Record<string, unknown>) => JSON.parse(formatStats({ model, stats: { stopReason: "eosFound", ...stats } as never }));

  it("writes counts that are not whole numbers from 0 to 2^53 as null", () => {
    expect(written({ predictedTokensCount: -5, promptTokensCount: 1e300 })).toMatchObject({ predictedTokensCount: null, promptTokensCount: null });
    expect(written({ predictedTokensCount: 2.5, promptTokensCount: 2 ** 53 })).toMatchObject({ predictedTokensCount: null, promptTokensCount: null });
    expect(written({ predictedTokensCount: 0, promptTokensCount: 2 ** 53 - 1 })).toMatchObject({ predictedTokensCount: 0, promptTokensCount: 2 ** 53 - 1 });
  });
  it("writes a total that is not the sum of its parts as null, and one it cannot check as it came", () => {
    expect(written({ promptTokensCount: 4, predictedTokensCount: 8, totalTokensCount: 12 }).totalTokensCount).toBe(12);
    expect(written({ promptTokensCount: 4, predictedTokensCount: 8, totalTokensCount: 13 }).totalTokensCount).toBeNull();
    expect(written({ promptTokensCount: -4, predictedTokensCount: 8, totalTokensCount: 4 }).totalTokensCount).toBeNull();
    expect(written({ promptTokensCount: 4, totalTokensCount: 12 }).totalTokensCount).toBe(12);
    expect(written({ promptTokensCount: 4, predictedTokensCount: 8, totalTokensCount: -1 }).totalTokensCount).toBeNull();
  });
  it("writes times and rates that are not finite numbers >= 0 as null", () => {
    expect(written({ tokensPerSecond: Infinity, timeToFirstTokenSec: -0.5, totalTimeSec: NaN })).toMatchObject({
      tokensPerSecond: null,
      timeToFirstTokenSec: null,
      totalTimeSec: null,
    });
    expect(written({ tokensPerSecond: 0, timeToFirstTokenSec: 0, totalTimeSec: 1e6 })).toMatchObject({
      tokensPerSecond: 0,
      timeToFirstTokenSec: 0,
      totalTimeSec: 1e6,
    });
  });
  it("still leaves out what was not reported", () => {
    expect(Object.keys(written({ tokensPerSecond: -1 }))).toEqual(["model", "stopReason", "tokensPerSecond"]);
  });
});
