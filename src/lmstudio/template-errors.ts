// What LM Studio's answers to a prompt template call mean for the user (--chat): a
// model that has no template, or one whose template fails to render. Both are the
// model's, not the connection's, so they say what to do instead of --chat.

import { ExitCode, LmcError } from "../errors.js";
import { escapeControls, messageParagraphs, plainText } from "../terminal/terminal-text.js";

/** Without --chat the prompt goes as it is, so a user can still write it in the model's own format. */
const withoutChat = "give the prompt in the model's own format without --chat";

/** The LmcError for an error of applyPromptTemplate, or undefined when it is not a template's. */
export function templateError(error: unknown, modelKey: string): LmcError | undefined {
  const title = (error as { title?: unknown })?.title;
  const text = messageParagraphs(typeof title === "string" ? title : error instanceof Error ? error.message : String(error)).join(" ");
  // The key comes from the server: shown, never obeyed.
  const model = `"${escapeControls(modelKey)}"`;
  if (/has no prompt template/i.test(text)) {
    return new LmcError(`the model ${model} has no prompt template, so --chat cannot format the prompt: ${withoutChat}`, ExitCode.failed, { cause: error });
  }
  // LM Studio's title quotes the template engine's error, and a suggestion follows it.
  const rendering =
    /Error rendering prompt with jinja template:\s*"(.*?)"\.?(?:\s|$)/i.exec(text) ?? /Failed to apply prompt template:\s*(.*?)\.?(?:\s|$)/i.exec(text);
  if (rendering) {
    const why = plainText(rendering[1] ?? "");
    return new LmcError(`the prompt template of the model ${model} failed to render (${why}): ${withoutChat}`, ExitCode.failed, { cause: error });
  }
  return undefined;
}
