import { openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ExitCode, systemErrorText } from "../../src/errors.js";
import { connectionError, modelErrorMessage, modelProblem } from "../../src/lmstudio/sdk-errors.js";
import { plainText } from "../../src/terminal/terminal-text.js";

// That each status is documented is checked against the README and the man page (docs.test.ts).
describe("the exit statuses", () => {
  it("are distinct, so a script can tell every way lmc ends apart", () => {
    const codes = Object.values(ExitCode);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it("fit in the byte a process's exit status has", () => {
    for (const code of Object.values(ExitCode)) {
      expect(code).toBeGreaterThanOrEqual(0);
      expect(code).toBeLessThan(256);
    }
  });
});

describe("plainText", () => {
  it.each([
    ["\x1b[31mred\x1b[39m", "red"],
    ["\n ╭──────╮\n │  No loaded model satisfies all requirements.  │\n ╰──╯", "No loaded model satisfies all requirements."],
    ["plain", "plain"],
    [
      "┌ Error ─┐\n│  The prompt has 9 tokens, but the  │\n│  context length is 4.  │\n│      │\n│  </> STACK TRACE  │\n└──┘",
      "The prompt has 9 tokens, but the context length is 4.",
    ],
    ["\n\n   ┌ Error ──────┐\n   │          │\n   │   The model crashed   │\n   │          │\n   │   </> STACK TRACE  │\n   └─────┘", "The model crashed"],
  ])("%j → %j", (input, expected) => expect(plainText(input)).toBe(expected));
});

describe("modelProblem", () => {
  it.each([
    [new Error('╭─\n│ Cannot find a model with path "\x1b[93mx\x1b[39m" │'), "notFound"],
    [new Error("  \x1b[41m No loaded model satisfies all requirements specified in the query. \x1b[49m"), "nothingLoaded"],
    [new Error("something else"), undefined],
    ["a string", undefined],
  ])("%s → %s", (error, expected) => expect(modelProblem(error)).toBe(expected));
});

describe("modelErrorMessage", () => {
  it.each([
    ["notFound", "gpt-7", ["a", "b"], 'model "gpt-7" not found; downloaded models: a, b'],
    ["notFound", "gpt-7", [], 'model "gpt-7" not found; no models are downloaded'],
    ["notFound", "gpt-7", undefined, 'model "gpt-7" not found'],
    ["nothingLoaded", undefined, ["a"], "no model is loaded in LM Studio: load one, or name one with --model or LMC_MODEL; downloaded models: a"],
  ] as const)("%s %s %j", (problem, key, available, expected) => expect(modelErrorMessage(problem, key, available as string[] | undefined)).toBe(expected));
});

describe("connectionError", () => {
  const withCode = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
  it.each([
    [withCode("ECONNREFUSED"), ExitCode.unreachable],
    [new Error("Unexpected server response: 404"), ExitCode.unreachable],
    [new Error("prediction failed"), undefined],
  ])("%s", (error, expected) => {
    const mapped = connectionError(error, "ws://h:1");
    expect(mapped?.exitCode).toBe(expected);
    if (mapped) expect(mapped.message).toMatch(/^cannot reach LM Studio at ws:\/\/h:1 /);
  });

  // A name that does not resolve is not a server to start: no advice about LM Studio.
  it.each([
    ["ENOTFOUND", "no such name"],
    ["EAI_AGAIN", "no name server answered"],
  ])("%s says the name cannot be resolved", (code, why) => {
    const mapped = connectionError(withCode(code), "ws://lm.invalid:1234");
    expect(mapped?.exitCode).toBe(ExitCode.unreachable);
    expect(mapped?.message).toBe(`cannot resolve host lm.invalid (${code}: ${why}): check the name given to --host or LMC_HOST`);
  });
});

describe("systemErrorText", () => {
  const failure = (call: () => unknown) => {
    try {
      call();
    } catch (error) {
      return error;
    }
    throw new Error("it did not fail");
  };

  it.each<[string, () => unknown, string]>([
    ["a missing file", () => openSync("/nonexistent-lmc-test/x", "r"), "no such file or directory"],
    ["a directory read as a file", () => readFileSync(tmpdir()), "is a directory"],
    ["a file used as a folder", () => openSync(join(fileURLToPath(import.meta.url), "x"), "r"), "not a directory"],
    ["a name too long", () => openSync(join(tmpdir(), "n".repeat(300)), "r"), "file name too long"],
  ])("says what %s is, as cat would, without Node's code, call and path", (_, call, expected) => {
    expect(systemErrorText(failure(call))).toBe(expected);
  });

  it.each([
    [-5, "EIO", "input/output error"],
    [-28, "ENOSPC", "no space left on device"],
  ])("says what a stream's error %i (%s, worded by Node as 'write %s') is", (errno, code, expected) => {
    // As Node's streams make them (errnoException): the message is only the call and the code.
    const error = Object.assign(new Error(`write ${code}`), { errno, code, syscall: "write" });
    expect(systemErrorText(error)).toBe(expected);
  });

  it("leaves any other error's message as it is", () => {
    expect(systemErrorText(new Error("ENOENT: written by hand"))).toBe("ENOENT: written by hand");
    expect(systemErrorText("plain")).toBe("plain");
  });
});
