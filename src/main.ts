// One run of lmc, from command line to exit status: the options resolved, the
// action they ask for run, and any error reported as one line and an exit status.
// Everything that touches the process comes in through `Io`, so tests can run it.

import packageJson from "../package.json" with { type: "json" };
import { batchMode } from "./batch/batch-mode.js";
import { parseArgs } from "./command-line/args.js";
import { renderHelp } from "./command-line/help.js";
import { resolveOptions } from "./command-line/resolve-options.js";
import { renderCompletion } from "./command-line/shell-completion.js";
import { ExitCode, LmcError } from "./errors.js";
import type { Io } from "./io.js";
import { envFlag } from "./lib/env-flag.js";
import { list } from "./list/list.js";
import { ReaderGoneError } from "./output/sinks.js";
import { complete } from "./single/complete.js";
import { errorLine, escapeControls } from "./terminal/terminal-text.js";

export type { Io } from "./io.js";

export const version: string = packageJson.version;

export async function main(io: Io): Promise<ExitCode> {
  let verbose = envFlag(io.env.LMC_DEBUG); // until the options say otherwise
  try {
    const options = resolveOptions(parseArgs(io.argv), io.env);
    verbose = options.verbose;
    if (verbose) io.tellLauncherNotes?.((note) => io.stderr.write(`lmc: ${escapeControls(note)}\n`));
    switch (options.action) {
      case "help":
        await io.print(renderHelp(version, { all: options.helpAll }));
        return ExitCode.ok;
      case "version":
        await io.print(`lmc ${version}\n`);
        return ExitCode.ok;
      case "completion":
        await io.print(renderCompletion(options.shell));
        return ExitCode.ok;
      case "list":
        return await list(options, io);
      case "batch":
        return await batchMode(options, io);
      case "complete":
        return await complete(options, io);
    }
  } catch (error) {
    return report(error, io.stderr, verbose);
  }
}

/**
 * The one line a failed run leaves on stderr. Messages may quote a server or the
 * SDK: they are put on one line with control characters escaped, and an SDK error
 * box loses its frame and stack trace (--verbose shows the underlying error).
 */
function report(error: unknown, stderr: NodeJS.WriteStream, verbose: boolean): ExitCode {
  if (error instanceof ReaderGoneError) return ExitCode.brokenPipe;
  if (error instanceof LmcError) {
    const suffix = error.exitCode === ExitCode.usage ? " (see lmc --help)" : "";
    stderr.write(`lmc: ${errorLine(error.message)}${suffix}\n`);
    if (verbose && error.cause) stderr.write(`${describe(error.cause)}\n`);
    return error.exitCode;
  }
  stderr.write(`lmc: ${errorLine(error instanceof Error ? error.message : String(error))}\n`);
  if (verbose) stderr.write(`${describe(error)}\n`);
  return ExitCode.failed;
}

function describe(error: unknown): string {
  return escapeControls(error instanceof Error ? (error.stack ?? error.message) : String(error));
}
