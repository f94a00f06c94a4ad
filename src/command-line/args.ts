// A strict, getopt-style reading of the command line against optionSpecs.
// citty's own parser accepts unknown flags and keeps only the last of repeated
// ones, which a filter cannot afford; this one refuses what it does not know.

import { UsageError } from "../errors.js";
import { optionSpecs, type OptionSpec } from "./option-table.js";

export interface ParsedArgs {
  /** Options that take a value: the last one given wins. */
  values: Map<string, string>;
  /** Repeatable options, in the order given. */
  lists: Map<string, string[]>;
  flags: Set<string>;
  /** Prompt words; "-" stands for stdin. */
  words: string[];
}

export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[] = optionSpecs): ParsedArgs {
  const parsed: ParsedArgs = { values: new Map(), lists: new Map(), flags: new Set(), words: [] };
  const byLong = new Map(specs.map((s) => [s.name, s]));
  const byShort = new Map(specs.flatMap((s) => (s.short === undefined ? [] : [[s.short, s] as const])));

  let i = 0;
  /** Records one option; a value option without an inline value consumes the next argument. */
  const take = (spec: OptionSpec, value: string | undefined, shown: string): void => {
    if (spec.kind === "flag") {
      if (value !== undefined) throw new UsageError(`option ${shown} takes no value`);
      parsed.flags.add(spec.name);
      return;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`option ${shown} needs a value (${spec.hint ?? "VALUE"})`);
      value = argv[++i]!;
    }
    if (spec.kind === "list") parsed.lists.set(spec.name, [...(parsed.lists.get(spec.name) ?? []), value]);
    else parsed.values.set(spec.name, value);
  };

  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      parsed.words.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-" || !arg.startsWith("-")) {
      const meant = optionBehindTypographicDash(arg, byLong);
      if (meant) throw new UsageError(typographicDashMessage(arg, meant));
      parsed.words.push(arg);
    } else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      const spec = byLong.get(name);
      if (!spec) throw new UsageError(unknownOptionMessage(`--${name}`, specs));
      take(spec, eq === -1 ? undefined : arg.slice(eq + 1), `--${name}`);
    } else {
      // A cluster of short options: -vn40, -n 40, -n=40.
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        const spec = byShort.get(letter);
        if (!spec) throw new UsageError(unknownOptionMessage(`-${letter}`, specs));
        if (spec.kind === "flag") {
          take(spec, undefined, `-${letter}`);
          continue;
        }
        let rest = arg.slice(j + 1);
        if (rest.startsWith("=")) rest = rest.slice(1);
        take(spec, rest === "" ? undefined : rest, `-${letter}`);
        break;
      }
    }
  }
  return parsed;
}

/**
 * Dashes that word processors, chat apps and autocorrect put where "--" was typed:
 * hyphen and non-breaking hyphen, figure, en and em dashes, horizontal bar, minus
 * sign, and their small and full-width forms.
 */
const TYPOGRAPHIC_DASHES = /^[\u2010-\u2015\u2212\uFE58\uFE63\uFF0D]+/;

/**
 * The long option a word names behind typographic dashes ("—max-tokens",
 * "–model=x"), if any. Such a word would otherwise become prompt text and, with
 * the option lost, may run a completion to the context's end; a prompt that really
 * starts so is rare, and "--" before it (or stdin) still passes it.
 */
function optionBehindTypographicDash(word: string, byLong: ReadonlyMap<string, OptionSpec>): OptionSpec | undefined {
  const dashes = TYPOGRAPHIC_DASHES.exec(word);
  if (!dashes) return undefined;
  const rest = word.slice(dashes[0].length);
  const eq = rest.indexOf("=");
  return byLong.get(eq === -1 ? rest : rest.slice(0, eq));
}

function typographicDashMessage(word: string, meant: OptionSpec): string {
  const dash = (word.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
  // Up to the name: a value after "=" is not repeated.
  return `"${word.split("=", 1)[0]}" starts with U+${dash}, not "--" (did you mean --${meant.name}?); put a prompt that starts with it after "--"`;
}

function unknownOptionMessage(option: string, specs: readonly OptionSpec[]): string {
  const guess = closestOption(option.replace(/^-+/, ""), specs);
  const hint = guess ? ` (did you mean --${guess}?)` : "";
  return `unknown option ${option}${hint}; put a prompt that starts with "-" after "--"`;
}

/** The declared option nearest to a mistyped one, if any is near enough to suggest. */
export function closestOption(typed: string, specs: readonly OptionSpec[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(typed.length / 3)) + 1;
  for (const { name } of specs) {
    const d = editDistance(typed, name);
    if (d < bestDistance) [best, bestDistance] = [name, d];
  }
  return typed.length > 1 ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, k) => k);
  for (let x = 1; x <= a.length; x++) {
    const current = [x];
    for (let y = 1; y <= b.length; y++) {
      const substitution = previous[y - 1]! + (a[x - 1] === b[y - 1] ? 0 : 1);
      current.push(Math.min(previous[y]! + 1, current[y - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
