import { describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { assemblePrompt, decodeStdin, needsStdin } from "../../src/prompt/prompt.js";

const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : Buffer.from(p))));

describe("needsStdin", () => {
  it.each([
    [[], true],
    [["-"], true],
    [["a", "-", "b"], true],
    [["a", "b"], false],
    [["--"], false],
  ])("%j → %s", (words, expected) => expect(needsStdin(words)).toBe(expected));
});

describe("decodeStdin", () => {
  it.each([
    ["drops one trailing newline", bytes("My name is\n"), false, "My name is"],
    ["drops one trailing CRLF", bytes("line\r\n"), false, "line"],
    ["keeps all but one newline", bytes("a\n\n"), false, "a\n"],
    ["keeps a lone CR", bytes("a\r"), false, "a\r"],
    ["drops a byte-order mark", bytes([0xef, 0xbb, 0xbf], "hi\n"), false, "hi"],
    ["raw keeps the newline", bytes("a\n"), true, "a\n"],
    ["raw keeps the byte-order mark", bytes([0xef, 0xbb, 0xbf], "hi"), true, "\ufeffhi"],
    ["invalid UTF-8 becomes U+FFFD", bytes("a", [0xff, 0xfe], "b"), false, "a\ufffd\ufffdb"],
    ["keeps inner whitespace", bytes("  a \t b  \n"), false, "  a \t b  "],
    ["empty", bytes(""), false, ""],
  ])("%s", (_, input, raw, expected) => expect(decodeStdin(input, raw)).toBe(expected));
});

describe("assemblePrompt", () => {
  it.each([
    [["Once", "upon", "a", "time"], undefined, "Once upon a time"],
    [[], "from stdin", "from stdin"],
    [["-", "TL;DR:"], "article", "article TL;DR:"],
    [["Rewrite:", "-"], "notes", "Rewrite: notes"],
    [["-", "and", "-"], "x", "x and x"],
    [["a  b", "c"], undefined, "a  b c"],
    [["-", "end"], "", " end"],
  ])("%j + %j → %j", (words, stdin, expected) => expect(assemblePrompt(words, stdin)).toBe(expected));

  it.each([
    [[], ""],
    [["-"], ""],
    [[""], undefined],
  ])("refuses an empty prompt from %j and %j", (words, stdin) => {
    expect(() => assemblePrompt(words, stdin)).toThrow(UsageError);
    expect(() => assemblePrompt(words, stdin)).toThrow(/the prompt is empty/);
  });
});
