// Every way lmc can end, as a number scripts can rely on (documented in the
// README and in man/lmc.1), and the error type that carries one.

import { getSystemErrorMap } from "node:util";

export const ExitCode = {
  ok: 0,
  /** The prediction failed (with --chat: the model has no prompt template, or it failed to render), or the connection broke mid-stream. */
  failed: 1,
  /** Bad command line or empty prompt: nothing was sent. */
  usage: 2,
  /** No LM Studio server could be reached. */
  unreachable: 3,
  /** The model asked for does not exist, or none is loaded. */
  modelNotFound: 4,
  /** --fail-on-truncate or --schema: the completion was cut off by the token limit or the context. */
  truncated: 5,
  /** LM Studio refused the API token (LM_API_TOKEN), or wants one and none was given. */
  unauthorized: 6,
  /** --timeout ran out (the same status as timeout(1)). */
  timeout: 124,
  /** stdout was closed by its reader (the status a SIGPIPE'd process has). */
  brokenPipe: 141,
  /** The terminal hung up (128 + SIGHUP). */
  hangup: 129,
  /** Interrupted by Ctrl-C (128 + SIGINT). */
  interrupted: 130,
  /** Asked to stop by SIGTERM, as timeout(1), make and service managers send it (128 + SIGTERM). */
  terminated: 143,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error whose message is already everything the user needs to read. */
export class LmcError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "LmcError";
  }
}

export class UsageError extends LmcError {
  constructor(message: string) {
    super(message, ExitCode.usage);
    this.name = "UsageError";
  }
}

/**
 * The prompt leaves the model no room to answer: refused before it is sent. Exit 1, the
 * status LM Studio's own refusal gave: the command line may be right (with another
 * model, or a longer context), so it is no usage error.
 */
export class PromptTooLongError extends LmcError {
  constructor(tokens: number, contextLength: number) {
    super(
      `the prompt is ${tokens} tokens, ${tokens > contextLength ? "more than" : "as many as"} the model's context length ${contextLength}: ` +
        "shorten it, load the model with a longer --context-length, or let LM Studio cut it (--context-overflow truncate-middle or rolling-window)",
      ExitCode.failed,
    );
    this.name = "PromptTooLongError";
  }
}

/** The connection to a server broke during a prediction: that server, not the prompt, failed. */
export class ConnectionLostError extends LmcError {
  constructor(host: string, cause: unknown, message = `the connection to LM Studio at ${host} was lost mid-stream`) {
    super(message, ExitCode.failed, { cause });
    this.name = "ConnectionLostError";
  }
}

/**
 * A server that was reached broke the protocol: a frame that is not UTF-8, a message the
 * SDK refuses, a prediction ended with no result. That server failed, as when the
 * connection is lost mid-stream; `what` ends the sentence "LM Studio at HOST …".
 */
export class ServerProtocolError extends ConnectionLostError {
  constructor(host: string, what: string, cause?: unknown) {
    super(host, cause, `LM Studio at ${host} ${what}`);
    this.name = "ServerProtocolError";
  }
}

/** A host accepted the connection but then showed no sign of life for too long (--idle-timeout). */
export class HostSilentError extends LmcError {
  constructor(host: string, seconds: number, awaited?: string) {
    super(`LM Studio at ${host} did not answer for ${seconds} s (--idle-timeout)${awaited ? `: lmc waited for ${awaited}` : ""}`, ExitCode.unreachable);
    this.name = "HostSilentError";
  }
}

/** Errors that say a host failed rather than an item: unreachable, refusing us, or gone mid-stream. */
export function isHostFailure(error: unknown): error is LmcError {
  return (
    error instanceof ConnectionLostError || (error instanceof LmcError && (error.exitCode === ExitCode.unreachable || error.exitCode === ExitCode.unauthorized))
  );
}

/**
 * What a failed system call says, as `cat` would say it: "no such file or directory",
 * not Node's "ENOENT: no such file or directory, open 'x'", which repeats the path the
 * message already names and shows the call lmc made.
 */
export function systemErrorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, syscall, errno } = error as NodeJS.ErrnoException;
  if (code === undefined || syscall === undefined) return error.message;
  const cats = catWords[code];
  // A stream's error (a socket, pipe or terminal) says only "write EIO": its words are in Node's map.
  if (error.message === `${syscall} ${code}`) return cats ?? (errno === undefined ? undefined : getSystemErrorMap().get(errno)?.[1]) ?? error.message;
  if (!error.message.startsWith(`${code}: `)) return error.message;
  if (cats !== undefined) return cats;
  const text = error.message.slice(code.length + 2);
  const call = text.lastIndexOf(`, ${syscall}`);
  return call > 0 ? text.slice(0, call) : text;
}

/** Where Node's (libuv's) words for an error differ from the C library's, which cat uses. */
const catWords: Record<string, string> = {
  EISDIR: "is a directory", // not "illegal operation on a directory"
  ELOOP: "too many levels of symbolic links", // not "too many symbolic links encountered"
  ENAMETOOLONG: "file name too long", // not "name too long"
  EIO: "input/output error", // not "i/o error"
};
