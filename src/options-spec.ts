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
}

export const optionSpecs: readonly OptionSpec[] = [
  { name: "model", short: "m", kind: "value", hint: "KEY", env: "LMC_MODEL",
    description: "model to use; loaded just in time if it is downloaded but not loaded (default: the model already loaded)" },
  { name: "max-tokens", short: "n", kind: "value", hint: "N", env: "LMC_MAX_TOKENS",
    description: "stop after N predicted tokens" },
  { name: "stop", short: "s", kind: "list", hint: "STR",
    description: "stop before STR; repeatable (STR itself is not output)" },
  { name: "temperature", short: "t", kind: "value", hint: "X", env: "LMC_TEMPERATURE",
    description: "sampling temperature, 0 for greedy" },
  { name: "host", short: "H", kind: "value", hint: "URL", env: "LMC_HOST",
    description: "LM Studio server, e.g. ws://127.0.0.1:1234 (default: find the local one)" },
  { name: "timeout", kind: "value", hint: "SECONDS", env: "LMC_TIMEOUT",
    description: "give up after SECONDS for the whole request (exit 124)" },
  { name: "output", short: "o", kind: "value", hint: "FILE",
    description: "write the completion to FILE, only on success and atomically; nothing on stdout" },
  { name: "no-stream", kind: "flag",
    description: "write the completion only once it is complete" },
  { name: "no-stats", kind: "flag",
    description: "do not write the stats JSON line to stderr" },
  { name: "raw-stdin", kind: "flag",
    description: "send stdin byte for byte: keep its last newline and any byte-order mark" },
  { name: "verbose", short: "v", kind: "flag",
    description: "diagnostics and full errors on stderr" },
  { name: "help", short: "h", kind: "flag", description: "show this help and exit" },
  { name: "version", short: "V", kind: "flag", description: "show the version and exit" },
];
