// Shell completion scripts for bash, zsh and fish, generated from optionSpecs so they
// offer exactly the options lmc parses. Pure: `lmc --completion SHELL` prints one.

import { optionSpecs, overflowPolicies, type OptionSpec } from "./option-table.js";

export type Shell = "bash" | "zsh" | "fish";
export const shells: readonly Shell[] = ["bash", "zsh", "fish"];

/** What an option's value completes to: file names, one of some words, the model keys, or nothing. */
type ValueCompletion = { files: true } | { words: readonly string[] } | { models: true } | undefined;

const valueWords: Readonly<Record<string, readonly string[]>> = {
  completion: shells,
  "context-overflow": Object.keys(overflowPolicies),
  gpu: ["off", "max"],
};
const fileOptions = new Set(["output", "schema", "resume", "stats-file", "system-file"]);
const modelOptions = new Set(["model", "draft-model"]);

/**
 * The model keys come from `lmc --list` in a pipe: one key a line, its backslashes
 * and control characters escaped (listing.ts), which `printf %b` undoes in all three
 * shells. Each script asks the server of the line's --host (else LMC_HOST, else the
 * local one), gives up after 2 seconds, and offers nothing when LM Studio is not
 * running. A key is a server's text: it becomes one literal candidate, never words to
 * expand (bash's `compgen -W "$(…)"` ran a `$(…)` in a key, globbed a `*` and split
 * at spaces).
 */
const LIST_MODELS = "lmc --list --timeout 2";

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
  local name
  # Read, not word-split: a file named "*" must not glob into all the others.
  while IFS= read -r name; do COMPREPLY+=("$name"); done < <(compgen -f -- "$cur")
}
# The model keys LM Studio has, from the server of --host on the line, if any: each
# decoded (printf %b), compared with the word as typed and offered quoted (%q), so
# that nothing in a key is ever expanded or run.
_lmc_models() {
  # From the line as typed: bash splits COMP_WORDS at the ":" of an address.
  local -a words host=()
  local i line key quoted
  read -ra words <<< "$COMP_LINE"
  for (( i = 1; i < \${#words[@]}; i++ )); do
    case \${words[i]} in
      -H|--host) host=(--host "\${words[i+1]}") ;;
      --host=*) host=("\${words[i]}") ;;
      -H?*) host=(--host "\${words[i]#-H}") ;;
    esac
  done
  while IFS= read -r line; do
    # A NUL (\\x00 after an even number of backslashes) cannot be in an argument.
    [[ \${line//'\\\\'/} == *'\\x00'* ]] && continue
    printf -v key %b "$line"
    printf -v quoted %q "$key"
    if [[ $key == "$cur"* || $quoted == "$cur"* ]]; then COMPREPLY+=("$quoted"); fi
  done < <(${LIST_MODELS} "\${host[@]}" 2>/dev/null)
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
            completion === undefined ? " " : "files" in completion ? "_files" : "models" in completion ? "_lmc_models" : `(${completion.words.join(" ")})`
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
# The model keys LM Studio has, from the server of --host on the line, if any: each
# decoded (printf %b) and handed to compadd, which quotes it for the line.
_lmc_models() {
  local -a models host
  local i line key
  for (( i = 2; i < CURRENT; i++ )); do
    case $words[i] in
      (-H|--host) host=(--host "\${(Q)words[i+1]}") ;;
      (--host=*) host=("--host=\${(Q)\${words[i]#--host=}}") ;;
      (-H?*) host=(--host "\${(Q)\${words[i]#-H}}") ;;
    esac
  done
  for line in "\${(@f)$(${LIST_MODELS} "\${host[@]}" 2>/dev/null)}"; do
    # A NUL (\\x00 after an even number of backslashes) cannot be in an argument.
    [[ -z $line || \${line//'\\\\'/} == *'\\x00'* ]] && continue
    printf -v key %b "$line"
    models+=("$key")
  done
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
      else if ("models" in completion) parts.push(`-x -a ${singleQuoted("(__lmc_models | string split0)", "fish")}`);
      else parts.push(`-x -a ${singleQuoted(completion.words.join(" "), "fish")}`);
    }
    parts.push(`-d ${singleQuoted(summary(spec), "fish")}`);
    return parts.join(" ");
  });
  return `# fish completion for lmc: lmc --completion fish > ~/.config/fish/completions/lmc.fish
# Prompt words complete to file names (fish's default), as do --output, --schema,
# --resume, --stats-file and --system-file; -m and --draft-model to the model keys LM Studio has.

# The model keys LM Studio has, from the server of --host on the line, if any: each
# decoded (printf %b) and ended by a NUL, so that "string split0" keeps a key with a
# newline as one candidate; fish quotes each for the line. A key with a NUL cannot be
# an argument, and one with a tab cannot be a candidate (fish takes what follows a
# tab as the description): both are left out, found as \\x00 or \\t after an even
# number of backslashes.
function __lmc_models
    set -l tokens (commandline -opc)
    set -l host
    for i in (seq 2 (count $tokens))
        switch $tokens[$i]
            case -H --host
                set -q tokens[(math $i + 1)]; and set host --host $tokens[(math $i + 1)]
            case '--host=*'
                set host $tokens[$i]
            case '-H?*'
                set host --host (string sub -s 3 -- $tokens[$i])
        end
    end
    ${LIST_MODELS} $host 2>/dev/null | while read -l line
        string replace -a '\\\\\\\\' '' -- $line | string match -qr '\\\\\\\\(x00|t)'; and continue
        printf '%b\\0' $line
    end
end
${lines.join("\n")}
`;
}
