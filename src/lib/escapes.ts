// The backslash escapes a user types where a shell cannot give the character
// itself (a Makefile runs /bin/sh, which has no $'\n'): \n newline, \t tab, \0 NUL
// and \\ a backslash. -d, --stop and a JSON Lines "stop" all read them here.

/** Each escape's letter, and the character it stands for. */
const ESCAPES: ReadonlyMap<string, string> = new Map([
  ["n", "\n"],
  ["t", "\t"],
  ["0", "\0"],
  ["\\", "\\"],
]);

/** The escapes, as a message lists them. */
export const KNOWN_ESCAPES = "\\n, \\t, \\0 and \\\\";

/** Why a text's escapes cannot be read. */
export class EscapeError extends Error {}

/**
 * `text` with its escapes turned into the characters. Any other backslash (`\q`, or
 * one at the end) is refused rather than kept: `\r` kept as two characters would
 * quietly be a different stop than the one meant.
 */
export function parseEscapes(text: string): string {
  if (!text.includes("\\")) return text;
  return text.replace(/\\([\s\S]?)/g, (_match, letter: string) => {
    const character = ESCAPES.get(letter);
    if (character !== undefined) return character;
    if (letter === "") throw new EscapeError(`ends in a lone backslash (write \\\\ for a backslash)`);
    const shown = /^[\x21-\x7e]$/.test(letter) ? `\\${letter}` : "a backslash before a character";
    throw new EscapeError(`has an unknown escape ${shown} (known: ${KNOWN_ESCAPES}; write \\\\ for a backslash)`);
  });
}

/** `text` written with escapes, so that parseEscapes gives it back. */
export function escapeText(text: string): string {
  return text.replace(/[\\\n\t\0]/g, (character) => `\\${LETTERS.get(character) ?? character}`);
}

/** Each escaped character, and its escape's letter. */
const LETTERS: ReadonlyMap<string, string> = new Map([...ESCAPES].map(([letter, character]) => [character, letter]));
