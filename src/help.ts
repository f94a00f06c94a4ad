// The --help text, built from the option table so it always matches the parser.

import { optionSpecs, type OptionSpec } from "./options-spec.js";

export function optionLabel(spec: OptionSpec): string {
  const names = spec.short ? `-${spec.short}, --${spec.name}` : `    --${spec.name}`;
  return spec.hint ? `${names} ${spec.hint}` : names;
}

export function renderHelp(version: string): string {
  const labels = optionSpecs.map(optionLabel);
  const width = Math.max(...labels.map((label) => label.length)) + 2;
  const options = optionSpecs.map((spec, i) => {
    const env = spec.env ? ` [$${spec.env}]` : "";
    const lines = wrap(`${spec.description}${env}`, 79 - 2 - width);
    return lines.map((line, j) => `  ${(j === 0 ? labels[i]! : "").padEnd(width)}${line}`).join("\n");
  });
  const variables = wrap(optionSpecs.flatMap((spec) => (spec.env ? [`${spec.env},`] : [])).join(" ").slice(0, -1), 77).join("\n  ");
  return `lmc ${version}: complete text with LM Studio, as a Unix filter

Usage: lmc [options] [words...]

The prompt is the words joined by spaces; a word "-" stands for all of stdin.
With no words the prompt is stdin. The completion streams to stdout and a
JSON line of stats goes to stderr.

Options:
${options.join("\n")}

Environment:
  ${variables}
                 defaults for the options above; flags win
  LM_API_TOKEN   API token for an LM Studio server that requires one
  LMC_DEBUG=1    same as --verbose
  NO_COLOR       no colour on stderr

Exit status:
  0 success   1 prediction failed   2 usage error   3 LM Studio unreachable
  4 model not found or none loaded   5 cut off (--fail-on-truncate)
  6 API token refused or missing   124 timed out   141 stdout closed by reader
  130 interrupted (Ctrl-C)   129 hung up (SIGHUP)   143 terminated (SIGTERM)

Examples:
  echo "My name is" | lmc --max-tokens 40 --stop "."
  lmc -m qwen2.5-7b-instruct "Once upon a time" > story.txt
  lmc - "TL;DR:" < article.txt
`;
}

/** Splits text into lines of at most `width` characters, at spaces. */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  return [...lines, line];
}
