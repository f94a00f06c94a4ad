import { describe, expect, it } from "vitest";
import { jsonErrorOffset, jsonErrorPosition } from "../../src/lib/json-position.js";

describe("jsonErrorOffset", () => {
  it.each([
    ["", 0],
    ["x", 0],
    ["{", 1],
    ["{}x", 2],
    ['{"a":1,}', 7],
    ['{"a" 1}', 5],
    ["[1,2", 4],
    ["[1 2]", 3],
    ['["a\tb"]', 3],
    ['["\\x"]', 2],
    ["[01]", 2],
    ["[-]", 1],
    ["[1,]", 3],
    ['{"a":[{"b":nul}]}', 11],
    ["[".repeat(100_000), 100_000],
  ])("%j → %i", (text, offset) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(jsonErrorOffset(text)).toBe(offset);
  });

  it("agrees with V8 wherever V8 says the position", () => {
    for (const text of ['{"a":1,}', "[1 2]", '{"a" 1}', "{}x", '{"a":"\\u12"}']) {
      const v8 = /at position (\d+)/.exec(
        (() => {
          try {
            JSON.parse(text);
          } catch (e) {
            return (e as Error).message;
          }
          return "";
        })(),
      );
      if (v8) expect(jsonErrorOffset(text)).toBeLessThanOrEqual(Number(v8[1]));
    }
  });
});

describe("jsonErrorPosition", () => {
  it("counts lines and columns from 1", () => {
    expect(jsonErrorPosition('{\n  "a": 1,\n  oops\n}')).toEqual({ line: 3, column: 3, atEnd: false });
    expect(jsonErrorPosition('{\n"a": ')).toEqual({ line: 2, column: 6, atEnd: true });
  });
});
