// The options of each action, as resolveOptions hands them to it: each action gets
// exactly the fields it reads, all checked, so none needs a cast or a `!` to reach one.

import type { ServerSettings } from "../lmstudio/connect.js";
import type { LoadSettings } from "../lmstudio/session.js";
import type { Shell } from "./shell-completion.js";

/** The stats line on stderr, appended to a file (--stats-file), or not written. */
export type StatsDestination = "stderr" | { file: string } | false;

export type Options = HelpOptions | VersionOptions | CompletionOptions | ListOptions | CompleteOptions | BatchOptions;

export type Action = Options["action"];

interface HelpOptions {
  action: "help";
  /** --help --all */
  helpAll: boolean;
  verbose: boolean;
}

interface VersionOptions {
  action: "version";
  verbose: boolean;
}

interface CompletionOptions {
  action: "completion";
  shell: Shell;
  verbose: boolean;
}

/** Where LM Studio is, how to talk to it, and how long lmc waits on it. */
export interface ServerOptions extends ServerSettings {
  /** --timeout: the whole request (in batch mode, each item) gives up after this. */
  timeoutSec?: number;
  /** How long a host may stay silent while lmc waits on it. */
  idleTimeoutSec: number;
}

export interface ListOptions extends ServerOptions {
  action: "list";
  /** --list --json */
  json: boolean;
}

/** What a prediction asks for, and what lmc shows of it. */
export interface PredictionOptions {
  /** Prompt words; "-" stands for stdin. */
  words: string[];
  model?: string;
  stopStrings: string[];
  /**
   * Prediction settings, all checked: by their SDK names (LLMPredictionConfigInput), or by
   * the configuration key LM Studio reads for those SDK 1.5's complete() drops (the table's `raw`).
   */
  prediction: Record<string, unknown>;
  load: LoadSettings;
  ttlSec?: number;
  /** --chat: the prompt is one user message, formatted by the model's own prompt template. */
  chat: boolean;
  /** --system's text: a system message before the user's, with --chat. */
  system?: string;
  /** --system-file: the file that gives the system message, read when the run starts. */
  systemFile?: string;
  echo: boolean;
  /** --count-tokens: the prompt measured in tokens, nothing predicted. */
  countTokens: boolean;
  failOnTruncate: boolean;
  /** Where the stats line goes (batch mode: the summary line); false: nowhere (--no-stats). */
  stats: StatsDestination;
  /** true or false when forced by a flag; undefined: only on a terminal. */
  progress?: boolean;
  /** Show reasoning fragments on stderr. */
  reasoning: boolean;
}

export interface CompleteOptions extends ServerOptions, PredictionOptions {
  action: "complete";
  /** --schema's argument: a file name or inline JSON, read when the run starts. */
  schema?: string;
  outputFile?: string;
  stream: boolean;
  rawStdin: boolean;
  /** --show-prompt: write the prompt that would be sent, and predict nothing. */
  showPrompt: boolean;
}

/**
 * Where batch mode's items come from: stdin's lines, NUL-separated records or JSON
 * Lines; the files named by the words (which then are no prompt words); or files
 * named on stdin, one a line or NUL-separated.
 */
export type BatchInput = BatchFormat | "files" | "file-names" | "file-names-nul";

/** Items as records of stdin: lines, NUL-separated records or JSON Lines. */
export type BatchFormat = "lines" | "nul" | "jsonl";

export interface BatchOptions extends ServerOptions, PredictionOptions {
  action: "batch";
  batch: BatchInput;
  parallel: number;
  /** The completions alone, each followed by this, instead of JSON Lines. */
  delimiter?: string;
  /** --resume: an earlier batch output whose completed items are skipped. */
  resumeFile?: string;
  outputFile?: string;
}
