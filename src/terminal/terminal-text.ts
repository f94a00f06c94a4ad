// Text from elsewhere (LM Studio, the SDK, the user's files) made fit for the
// user's terminal: control characters are shown, never obeyed, and the SDK's
// boxed error prose is unwrapped to plain paragraphs. Pure; no SDK import, so
// the error path of a run that never loads the SDK can use it too.

/** C0 controls, DEL and C1 controls, except newline and tab. */
const controlCharacters = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;

/**
 * `text` with every control character but newline and tab written as \xHH, so
 * that an escape sequence or a carriage return from a server is printed, not obeyed.
 */
export function escapeControls(text: string): string {
  return text.replace(controlCharacters, (char) => `\\x${char.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** `text` as one line of a message: line breaks become spaces, other controls are escaped. */
export function oneLine(text: string): string {
  return escapeControls(text.replace(/[^\S\r\n]*[\r\n]+\s*/g, " ").trim());
}

/** The SDK's ANSI colours, which it puts into its error messages. */
const ansiColours = /\x1b\[[0-9;]*m/g;

/**
 * The paragraphs of an SDK error message, each on one line, without ANSI colours,
 * without the frame the SDK draws around it (whose top edge carries a generic
 * "Error" title, and which wraps long lines), and with any other control
 * character escaped.
 */
export function messageParagraphs(text: string): string[] {
  const lines = text
    .replace(ansiColours, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => !/^[\u250c\u2514\u256d\u2570]/.test(line)) // the frame's top and bottom edges
    .map((line) => line.replace(/[\u2500-\u257f]/g, "").trim());
  return lines
    .join("\n")
    .split(/\n{2,}/)
    .map((paragraph) => oneLine(paragraph))
    .filter((paragraph) => paragraph !== "");
}

/** The first paragraph of an SDK error message: what went wrong. */
export function plainText(text: string): string {
  return messageParagraphs(text)[0] ?? oneLine(text);
}

/**
 * Any error message as one line for `lmc: …`: an SDK error box unwrapped to the
 * paragraphs before its stack trace, anything else on one line.
 */
export function errorLine(text: string): string {
  if (!/[\u250c\u256d]/.test(text)) return oneLine(text.replace(ansiColours, ""));
  const paragraphs = messageParagraphs(text);
  const stack = paragraphs.findIndex((paragraph) => /STACK TRACE/.test(paragraph));
  return (stack < 0 ? paragraphs : paragraphs.slice(0, stack)).join(" ");
}
