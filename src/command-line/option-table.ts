// The one declaration of lmc's command line. The parser, --help, the shell
// completions and the docs tests all read this table, so they cannot drift apart.

export type OptionKind =
  /** Takes a value. */
  | "value"
  /** Takes a value and may be given many times; order is kept. */
  | "list"
  /** Takes no value. */
  | "flag";

export interface OptionSpec {
  /** The long name, as typed after `--`. */
  name: string;
  /** One letter, as typed after `-`. */
  short?: string;
  kind: OptionKind;
  /** What the value looks like, for help: KEY, N, URL… */
  hint?: string;
  description: string;
  /** The environment variable that gives the default. */
  env?: string;
  /** Shown in the short --help; every option is in --help --all and the man page. */
  common?: true;
}

export const optionSpecs: readonly OptionSpec[] = [
  { name: "model", common: true, short: "m", kind: "value", hint: "KEY", env: "LMC_MODEL",
    description: "model to use; loaded just in time if it is downloaded but not loaded (default: the model already loaded)" },
  { name: "max-tokens", common: true, short: "n", kind: "value", hint: "N", env: "LMC_MAX_TOKENS",
    description: "stop after N predicted tokens (off: no limit)" },
  { name: "stop", common: true, short: "s", kind: "list", hint: "STR",
    description: "stop before STR; repeatable (STR itself is not output)" },
  { name: "temperature", common: true, short: "t", kind: "value", hint: "X", env: "LMC_TEMPERATURE",
    description: "sampling temperature, 0 for greedy" },
  { name: "top-k", kind: "value", hint: "N", description: "sample from the N likeliest tokens" },
  { name: "top-p", kind: "value", hint: "P", description: "sample from the likeliest tokens whose probabilities add up to P (0-1, or off)" },
  { name: "min-p", kind: "value", hint: "P", description: "leave out tokens less likely than P times the likeliest (0-1, or off)" },
  { name: "repeat-penalty", kind: "value", hint: "X", description: "penalise repeated tokens (1 or off: none)" },
  { name: "option", kind: "list", hint: "KEY=VALUE",
    description: "any other prediction setting of LM Studio's SDK, e.g. xtcProbability=0.5 or cpuThreads=4; repeatable" },
  { name: "schema", kind: "value", hint: "FILE|JSON",
    description: "make the completion JSON valid against this JSON Schema (a file, or inline JSON)" },
  { name: "context-overflow", kind: "value", hint: "POLICY",
    description: "when the context is full: stop, truncate-middle or rolling-window" },
  { name: "draft-model", kind: "value", hint: "KEY", description: "speculative decoding with this draft model" },
  { name: "context-length", kind: "value", hint: "N", description: "context length, when lmc loads the model" },
  { name: "gpu", kind: "value", hint: "off|max|RATIO", description: "GPU offload, when lmc loads the model" },
  { name: "ttl", kind: "value", hint: "SECONDS", description: "unload the model after SECONDS idle, when lmc loads it" },
  { name: "seed", kind: "value", hint: "N", description: "random seed, for repeatable sampling" },
  { name: "host", common: true, short: "H", kind: "list", hint: "URL", env: "LMC_HOST",
    description: "LM Studio server, e.g. ws://127.0.0.1:1234 (default: find the local one); in batch mode repeatable, to spread the work" },
  { name: "timeout", kind: "value", hint: "SECONDS", env: "LMC_TIMEOUT",
    description: "give up after SECONDS for the whole request (exit 124); in batch mode per item, whose record then says so" },
  { name: "output", common: true, short: "o", kind: "value", hint: "FILE",
    description: "write the completion to FILE, only on success and then whole; nothing on stdout" },
  { name: "echo", short: "e", kind: "flag", description: "write the prompt before the completion" },
  { name: "no-stream", kind: "flag",
    description: "write the completion only once it is complete" },
  { name: "no-stats", common: true, kind: "flag",
    description: "do not write the stats JSON line to stderr" },
  { name: "fail-on-truncate", kind: "flag",
    description: "exit 5 when the completion was cut off by --max-tokens or the context length" },
  { name: "progress", kind: "flag",
    description: "show progress on stderr while the model loads and the prompt is processed (default: on a terminal)" },
  { name: "no-progress", kind: "flag", description: "never show progress" },
  { name: "reasoning", kind: "flag",
    description: "show a reasoning model's reasoning on stderr (it never reaches stdout)" },
  { name: "raw-stdin", kind: "flag",
    description: "send stdin byte for byte: keep its last newline and any byte-order mark" },
  { name: "each", common: true, kind: "flag",
    description: "batch: complete each line of stdin (\"-\" among the words stands for it); JSON Lines out" },
  { name: "each-jsonl", kind: "flag",
    description: "batch: complete each JSON line of stdin: {\"prompt\": ..., optional \"model\", \"stop\", \"maxTokens\", \"temperature\"}" },
  { name: "each-file", common: true, kind: "flag", description: "batch: complete each whole file; the words are the files, or with no words stdin names them, one per line" },
  { name: "null", short: "0", kind: "flag", description: "with --each, prompts, with --each-file, file names on stdin are separated by NUL, not newline" },
  { name: "delimiter", short: "d", kind: "value", hint: "STR",
    description: "batch: write the completions alone, each followed by STR (\\0 is NUL, \\n newline, \\t tab)" },
  { name: "parallel", common: true, short: "P", kind: "value", hint: "N", env: "LMC_PARALLEL",
    description: "batch: keep N predictions in flight (default 4)" },
  { name: "idle-timeout", kind: "value", hint: "SECONDS", env: "LMC_IDLE_TIMEOUT",
    description: "LM Studio silent for SECONDS while lmc waits on it (no progress, no text) ends the run (exit 3); in batch mode that host is taken out (default 60)" },
  { name: "resume", kind: "value", hint: "FILE",
    description: "batch: skip the items that FILE, an earlier run's output, already holds; with -o FILE, keep them there" },
  { name: "list", common: true, short: "l", kind: "flag",
    description: "list the models LM Studio has downloaded, and which are loaded, then exit" },
  { name: "json", kind: "flag", description: "with --list: one JSON array instead of lines" },
  { name: "completion", kind: "value", hint: "SHELL",
    description: "print the completion script for bash, zsh or fish, then exit" },
  { name: "verbose", short: "v", kind: "flag",
    description: "diagnostics and full errors on stderr" },
  { name: "help", common: true, short: "h", kind: "flag", description: "show the common options and exit" },
  { name: "all", kind: "flag", description: "with --help: every option, the environment and the exit statuses" },
  { name: "version", common: true, short: "V", kind: "flag", description: "show the version and exit" },
];
