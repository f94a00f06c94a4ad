// The process as the rest of lmc sees it: arguments, environment, the three streams,
// signals, and the few things only the process can do. src/cli.ts makes the one Io
// from `process`; tests make their own, with fake streams.

import type { Step } from "./startup/timeline.js";

export type Environment = Readonly<Record<string, string | undefined>>;

export interface Io {
  argv: readonly string[];
  env: Environment;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /**
   * Writes a short text (--help, --version, a completion script) to stdout, and fails
   * as a completion's write would (a ReaderGoneError when the reader has gone). The
   * process's own writes it without making stdout's stream when it can (src/cli.ts).
   */
  print(text: string): Promise<void>;
  /**
   * The descriptors behind stdin and stdout, when they are the process's own (0 and 1),
   * for what only a descriptor tells: where stdin stands in a regular file, which file
   * stdout is, whether -o names stdout. Fake streams have none.
   */
  fds?: { stdin: number; stdout: number };
  /** Node's version, as in process.versions.node. */
  nodeVersion: string;
  /** Sets V8 flags, for the whole process. */
  setV8Flags(flags: string): void;
  /** The file mode creation mask: a new -o file gets 0666 less this. */
  umask: number;
  /** Calls `handler` on Ctrl-C, SIGHUP or SIGTERM; returns the function that stops listening. */
  onInterrupt(handler: (signal: StopSignal) => void): () => void;
  /**
   * Where stdin stands, when it is a regular file whose offset can be found (Linux's
   * /proc), for batch mode to read it ahead from there (a script may have read part of it).
   */
  stdinFileOffset?(): number | undefined;
  /** Notes that the run reached a step of the launcher's timeline, which NODE_DEBUG=lmc prints (src/startup/timeline.ts). */
  mark?(step: Step): void;
  /** Hands what the launcher has to say under --verbose (why a code cache was not used), now and later, to `tell`. */
  tellLauncherNotes?(tell: (note: string) => void): void;
}

export type StopSignal = "SIGINT" | "SIGHUP" | "SIGTERM";
