// --chat's errors read from LM Studio's answers to applyPromptTemplate, as the SDK
// hands them over (boxed prose with a title), into one line that says what to do.

import { describe, expect, it } from "vitest";
import { ExitCode } from "../../src/errors.js";
import { templateError } from "../../src/lmstudio/template-errors.js";

/** An error as the SDK makes one of LM Studio's: a title, and the message boxed with the suggestion and a stack. */
function sdkError(title: string, suggestion = ""): Error {
  const box = ["┌ Error ─────────┐", `│ ${title} │`, "│ │", `│ ${suggestion} │`, "└────────────────┘"].join("\n");
  return Object.assign(new Error(box), { title });
}

describe("templateError", () => {
  it("a model without a template", () => {
    const error = templateError(sdkError('Failed to apply prompt template: the model "m" has no prompt template.'), "m");
    expect(error?.message).toBe(
      `the model "m" has no prompt template, so --chat cannot format the prompt: give the prompt in the model's own format without --chat`,
    );
    expect(error?.exitCode).toBe(ExitCode.failed);
  });

  it("a template that fails to render: the engine's reason, without LM Studio's suggestion", () => {
    const error = templateError(
      sdkError(`Error rendering prompt with jinja template: "Unexpected token: EndFor".`, "This is an issue with the model's prompt template."),
      "m",
    );
    expect(error?.message).toBe(
      `the prompt template of the model "m" failed to render (Unexpected token: EndFor): give the prompt in the model's own format without --chat`,
    );
  });

  it("a key from the server with an escape sequence is shown, not obeyed", () => {
    expect(templateError(new Error("has no prompt template"), "m\x1b[2J")?.message).toContain('"m\\x1b[2J"');
  });

  it("anything else is not a template's error", () => {
    expect(templateError(new Error("WebSocket connection closed"), "m")).toBeUndefined();
    expect(templateError(undefined, "m")).toBeUndefined();
  });
});
