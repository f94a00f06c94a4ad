import { describe, expect, it } from "vitest";
import { errorLine, escapeControls, oneLine, plainText } from "../../src/terminal/terminal-text.js";

describe("escapeControls", () => {
  it.each([
    ["plain text, tabs\tand\nnewlines stay", "plain text, tabs\tand\nnewlines stay"],
    ["\x1b]0;title\x07\x1b[2J", "\\x1b]0;title\\x07\\x1b[2J"],
    ["over\rwrite", "over\\x0dwrite"],
    ["C1 \u009b31m and DEL \x7f", "C1 \\x9b31m and DEL \\x7f"],
    ["NUL \0", "NUL \\x00"],
    ["unicode é ✓ 日本", "unicode é ✓ 日本"],
  ])("%j → %j", (input, expected) => expect(escapeControls(input)).toBe(expected));
});

describe("oneLine", () => {
  it.each([
    ["a\nb", "a b"],
    ['schema:[\n  {\n    "code"', 'schema:[ { "code"'],
    ["a\r\n\r\nb\x1b[K", "a b\\x1b[K"],
  ])("%j → %j", (input, expected) => expect(oneLine(input)).toBe(expected));
});

describe("errorLine", () => {
  it("unwraps the SDK's error box and leaves its stack trace out", () => {
    const box = [
      "",
      "",
      "   ┌ Error ───────────┐",
      "   │                  │",
      "   │   Invalid parameter(s) for client.llm.model(modelKey, opts):   │",
      "   │                  │",
      "   │   - modelKey: Control characters are not allowed   │",
      "   │                  │",
      "   │   </> STACK TRACE   │",
      "   │                  │",
      "   │   at i (dist/lmc-bundle.cjs:421:2158)   │",
      "   └──────────────────┘",
      "",
    ].join("\n");
    expect(errorLine(box)).toBe("Invalid parameter(s) for client.llm.model(modelKey, opts): - modelKey: Control characters are not allowed");
  });
  it("puts anything else on one line, with controls escaped", () => {
    expect(errorLine("write EPROTO 80EC:error:0A00010B:SSL routines::wrong version number:\n")).toBe(
      "write EPROTO 80EC:error:0A00010B:SSL routines::wrong version number:",
    );
    expect(errorLine("the prediction failed: \x1b]0;pwned\x07")).toBe("the prediction failed: \\x1b]0;pwned\\x07");
  });
});

describe("plainText", () => {
  it("escapes what a server put in a title, beyond the SDK's colours", () => {
    expect(plainText("\x1b[31mred\x1b[39m \x1b]0;pwned\x07\rgone")).toBe("red \\x1b]0;pwned\\x07 gone");
  });
});
