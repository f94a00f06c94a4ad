// Shell completion scripts for bash, zsh and fish, generated from optionSpecs so they
// offer exactly the options lmc parses. Pure: `lmc --completion SHELL` prints one.

import { optionSpecs, type OptionSpec } from "./option-table.js";
import { overflowPolicies } from "./prediction-settings.js";

export type Shell = "bash" | "zsh" | "fish";
export const shells: readonly Shell[] = ["bash", "zsh", "fish"];

/** What an option's value completes to: file names, one of some words, the model keys, or nothing. */
type ValueCompletion = { files: true } | { words: readonly string[] } | { models: true } | undefined;

const valueWords: Readonly<Record<string, readonly string[]>> = {
  completion: shells,
  "context-overflow": Object.keys(overflowPolicies),
  gpu: ["off", "max"],
};
const fileOptions = new Set(["output", "schema", "resume"]);
const modelOptions = new Set(["model", "draft-model"]);

/**
 * The model keys, from `lmc --list` (keys only, one a line, in a pipe): a short
 * timeout, and nothing at all when LM Studio is not running.
 */
const LIST_MODELS = "lmc --list --timeout 2 2>/dev/null";

function valueCompletion(spec: OptionSpec): ValueCompletion {
  if (spec.kind === "flag") return undefined;
  const words = valueWords[spec.name];
  if (words) return { words };
  if (modelOptions.has(spec.name)) return { models: true };
  return fileOptions.has(spec.name) ? { files: true } : undefined;
}

/** The description up to its first "; ", which is enough for a completion menu. */
function summary(spec: OptionSpec): string {
  return spec.description.split("; ")[0]!;
}

export function renderCompletion(shell: Shell, specs: readonly OptionSpec[] = optionSpecs): string {
  switch (shell) {
    case "bash":
      return bash(specs);
    case "zsh":
      return zsh(specs);
    case "fish":
      return fish(specs);
  }
}

function spellings(spec: OptionSpec): string[] {
  return spec.short ? [`-${spec.short}`, `--${spec.name}`] : [`--${spec.name}`];
}

function bash(specs: readonly OptionSpec[]): string {
  const all = specs.flatMap((s) => spellings(s)).join(" ");
  const cases: string[] = [];
  const plain: string[] = [];
  for (const spec of specs) {
    if (spec.kind === "flag") continue;
    const completion = valueCompletion(spec);
    const pattern = spellings(spec).join("|");
    if (completion === undefined) plain.push(pattern);
    else if ("files" in completion) {
      cases.push(`    ${pattern})\n      _lmc_files\n      return 0 ;;`);
    } else if ("models" in completion) {
      cases.push(`    ${pattern})\n      _lmc_models\n      return 0 ;;`);
    } else {
      cases.push(`    ${pattern})\n      COMPREPLY=($(compgen -W "${completion.words.join(" ")}" -- "$cur"))\n      return 0 ;;`);
    }
  }
  if (plain.length > 0) cases.push(`    ${plain.join("|")})\n      return 0 ;;`);
  return `# bash completion for lmc: eval "$(lmc --completion bash)"
_lmc_files() {
  compopt -o filenames 2>/dev/null
  local IFS=$'\\n'
  COMPREPLY=($(compgen -f -- "$cur"))
}
# The model keys LM Studio has, asked of the server named on the command line, if any.
_lmc_models() {
  # From the line as typed: bash splits COMP_WORDS at the ":" of an address.
  local -a words host=()
  local i
  read -ra words <<< "$COMP_LINE"
  for (( i = 1; i < \${#words[@]}; i++ )); do
    case \${words[i]} in
      -H|--host) host=(--host "\${words[i+1]}") ;;
      --host=*) host=("\${words[i]}") ;;
    esac
  done
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$(${LIST_MODELS.replace("2>", '"${host[@]}" 2>')})" -- "$cur"))
}
_lmc() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev= i
  (( COMP_CWORD > 0 )) && prev=\${COMP_WORDS[COMP_CWORD-1]}
  # --option=VALUE: bash splits the word at "=".
  if [[ $cur == = ]]; then
    cur=
  elif [[ $prev == = ]] && (( COMP_CWORD > 1 )); then
    prev=\${COMP_WORDS[COMP_CWORD-2]}
  fi
  COMPREPLY=()
  # After "--" every word is prompt text, or a file with --each-file.
  for (( i = 1; i < COMP_CWORD; i++ )); do
    [[ \${COMP_WORDS[i]} == -- ]] && { _lmc_files; return 0; }
  done
  case $prev in
${cases.join("\n")}
  esac
  # An option, or else a file: a prompt word, --each-file's files, or after "<".
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "${all}" -- "$cur"))
  else
    _lmc_files
  fi
  return 0
}
complete -F _lmc lmc
`;
}

/** Quoted for zsh or fish inside single quotes. */
function singleQuoted(text: string, shell: "zsh" | "fish"): string {
  return shell === "zsh" ? `'${text.replace(/'/g, `'\\''`)}'` : `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

function zsh(specs: readonly OptionSpec[]): string {
  const lines = specs.map((spec) => {
    const description = `[${summary(spec).replace(/[\\[\]]/g, (c) => `\\${c}`)}]`;
    const completion = valueCompletion(spec);
    const action =
      spec.kind === "flag"
        ? ""
        : `:${(spec.hint ?? "value").replace(/:/g, "\\:")}:${
            completion === undefined
              ? " "
              : "files" in completion
                ? "_files"
                : "models" in completion
                  ? "_lmc_models"
                  : `(${completion.words.join(" ")})`
          }`;
    // "-m+" and "--model=" take the value in the same word or the next one.
    const suffix = spec.kind === "flag" ? "" : spec.short ? "+" : "=";
    const exclusion = spec.kind === "list" ? "*" : `(${spellings(spec).join(" ")})`;
    if (spec.short) {
      const longSuffix = spec.kind === "flag" ? "" : "=";
      return `    ${singleQuoted(exclusion, "zsh")}{-${spec.short}${suffix},--${spec.name}${longSuffix}}${singleQuoted(description + action, "zsh")}`;
    }
    return `    ${singleQuoted(`${exclusion}--${spec.name}${suffix}${description}${action}`, "zsh")}`;
  });
  return `#compdef lmc
# zsh completion for lmc: put this in a directory of $fpath as _lmc, or: source <(lmc --completion zsh)
# The model keys LM Studio has (nothing when it is not running).
_lmc_models() {
  local -a models
  models=(\${(f)"$(${LIST_MODELS})"})
  compadd -a models
}
_lmc() {
  _arguments -s -S \\
${lines.join(" \\\n")} \\
    '*:prompt words or files:_files'
}
if [[ $funcstack[1] == _lmc ]]; then
  _lmc "$@"
else
  compdef _lmc lmc
fi
`;
}

function fish(specs: readonly OptionSpec[]): string {
  const lines = specs.map((spec) => {
    const parts = ["complete -c lmc"];
    if (spec.short) parts.push(`-s ${spec.short}`);
    parts.push(`-l ${spec.name}`);
    const completion = valueCompletion(spec);
    if (spec.kind !== "flag") {
      if (completion === undefined) parts.push("-x");
      else if ("files" in completion) parts.push("-r -F");
      else if ("models" in completion) parts.push(`-x -a ${singleQuoted(`(${LIST_MODELS})`, "fish")}`);
      else parts.push(`-x -a ${singleQuoted(completion.words.join(" "), "fish")}`);
    }
    parts.push(`-d ${singleQuoted(summary(spec), "fish")}`);
    return parts.join(" ");
  });
  return `# fish completion for lmc: lmc --completion fish > ~/.config/fish/completions/lmc.fish
# Prompt words complete to file names (fish's default), as do --output, --schema
# and --resume; -m and --draft-model to the model keys LM Studio has.
${lines.join("\n")}
`;
}
