// The --help text, built from the option table so it always matches the parser.
// `lmc --help` shows the common options on one screen, as git, curl and rg do;
// `lmc --help --all` every option, the environment and the exit statuses.

import { optionSpecs, type OptionSpec } from "./option-table.js";

/** No line of the help is longer: it fits an 80-column terminal without wrapping. */
const HELP_WIDTH = 79;

function optionLabel(spec: OptionSpec): string {
  const names = spec.short ? `-${spec.short}, --${spec.name}` : `    --${spec.name}`;
  return spec.hint ? `${names} ${spec.hint}` : names;
}

function renderOptions(specs: readonly OptionSpec[], describe: (spec: OptionSpec) => string): string {
  const labels = specs.map(optionLabel);
  const width = Math.max(...labels.map((label) => label.length)) + 2;
  return specs
    .map((spec, i) => {
      const lines = wrap(describe(spec), HELP_WIDTH - 2 - width);
      return lines.map((line, j) => `  ${(j === 0 ? labels[i]! : "").padEnd(width)}${line}`).join("\n");
    })
    .join("\n");
}

const header = (version: string) => `lmc ${version}: complete text with LM Studio, as a Unix filter

Usage: lmc [options] [words...]

The prompt is the words joined by spaces; a word "-" stands for all of stdin.
With no words the prompt is stdin. The completion streams to stdout and a
JSON line of stats goes to stderr (or to --stats-file).
`;

const examples = `Examples:
  echo "My name is" | lmc --max-tokens 40 --stop "."
  lmc -m qwen2.5-7b-instruct "Once upon a time" > story.txt
  lmc - "TL;DR:" < article.txt
`;

export function renderHelp(version: string, { all = false }: { all?: boolean } = {}): string {
  if (!all) {
    const common = optionSpecs.filter((spec) => spec.common);
    // The short help names its options and no more: the details are in --help --all.
    const firstSentence = (spec: OptionSpec) => spec.description.split(/[;(]/)[0]!.trim();
    return `${header(version)}
Common options:
${renderOptions(common, firstSentence)}

${examples}
Every option, the environment and the exit statuses: lmc --help --all, man lmc
`;
  }
  const env = (spec: OptionSpec) => `${spec.description}${spec.env ? ` [$${spec.env}]` : ""}`;
  const variables = optionSpecs.flatMap((spec) => (spec.env ? [spec.env] : [])).join(", ");
  return `${header(version)}
Options:
${renderOptions(optionSpecs, env)}

Environment:
${wrap(variables, HELP_WIDTH - 2)
  .map((line) => `  ${line}`)
  .join("\n")}
                 defaults for the options above; flags win
  LM_API_TOKEN   API token for an LM Studio server that requires one
  LMC_DEBUG=1    same as --verbose
  NO_COLOR       no colour on stderr

Exit status:
  0 success   1 prediction failed   2 usage error   3 LM Studio unreachable
  4 model not found or none loaded   5 cut off (--fail-on-truncate, --schema)
  6 API token refused or missing   124 timed out   141 stdout closed by reader
  130 interrupted (Ctrl-C)   129 hung up (SIGHUP)   143 terminated (SIGTERM)

${examples}`;
}

/** Splits text into lines of at most `width` characters, at spaces. */
function wrap(text: string, width: number): string[] {
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
