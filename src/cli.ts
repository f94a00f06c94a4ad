// The entry point of the bundle: run() makes the one Io from `process`, runs main()
// and exits with its status. Below main(), nothing touches `process`.
//
// What started the bundle (src/startup/launch.ts, the single executable's snapshot
// entry, the build's recorder of the code cache) calls run() with its launcher, the
// run's timeline and notes (src/startup/launcher.ts). An export of the entry, rather
// than an extra argument of the CommonJS wrapper or a property of `module`: it is
// typed, needs no name that TypeScript cannot see, and works as well where this module
// is bundled with its caller, as in the snapshot, as where the launcher wraps it.

import { fstatSync, readFileSync } from "node:fs";
import { constants } from "node:os";
import { setFlagsFromString } from "node:v8";
import { ExitCode, LmcError, systemErrorText } from "./errors.js";
import type { Io } from "./io.js";
import { main } from "./main.js";
import type { Launcher } from "./startup/launcher.js";
import { removeTemporaryFiles } from "./output/output-file.js";
import { streamWriter } from "./output/sinks.js";
import { writeDirect } from "./output/write-direct.js";

// Made on first use, as stdin is: making stdout's stream loads Node's stream and net
// modules (3-5 ms), which --version, --help and --completion do without (print below).
let stdout: NodeJS.WriteStream | undefined;
const openStdout = () => (stdout ??= opened("cannot write stdout", () => process.stdout));

/**
 * Writes `text` straight to descriptor 1 while stdout's stream is not made: on POSIX
 * the stream too writes a pipe, file or terminal synchronously. What that leaves
 * unwritten (on an error such as EPIPE or ENOSPC, or a full non-blocking pipe) goes to
 * the stream, whose error fails the run as a completion's would: exit 141 quietly for
 * a reader gone, else one line. Not on Windows, where only the stream shows a
 * console non-ASCII text right.
 */
async function print(text: string): Promise<void> {
  const bytes = Buffer.from(text);
  const written = stdout !== undefined || process.platform === "win32" ? 0 : writeDirect(1, bytes);
  if (written === bytes.length) return;
  const writer = streamWriter(openStdout());
  await writer.write(bytes.subarray(written));
  await writer.flush();
}

// Made on first use too: most successful runs of --version or --help never write to it.
let stderr: NodeJS.WriteStream | undefined;
function openStderr(): NodeJS.WriteStream {
  if (stderr) return stderr;
  try {
    stderr = process.stderr;
  } catch (error) {
    // Nowhere else to say it: straight to the descriptor, which may still take a write.
    writeDirect(2, Buffer.from(`lmc: cannot write stderr: ${systemErrorText(error)}\n`));
    process.exit(ExitCode.failed);
  }
  // With stderr closed (2>&-) there is nowhere to report anything; that is no reason to crash.
  stderr.on("error", () => {});
  return stderr;
}
/**
 * Where stdin stands, when it is a regular file whose offset can be found (Linux's
 * /proc); else undefined.
 */
function stdinFileOffset(): number | undefined {
  try {
    if (!fstatSync(0).isFile()) return undefined;
    const position = /^pos:\s*(\d+)$/m.exec(readFileSync("/proc/self/fdinfo/0", "utf8"))?.[1];
    return position === undefined ? undefined : Number(position);
  } catch {
    return undefined;
  }
}

// Ctrl-C, the terminal hanging up and SIGTERM (timeout(1), make) all stop a run the same way.
const stopSignals = ["SIGINT", "SIGHUP", "SIGTERM"] as const;
let interrupts = 0;
let stdinChecked = false;

export function run(launcher: Launcher): void {
  // However lmc ends (process.exit on a second Ctrl-C or a signal, an uncaught
  // error), no temporary file of -o is left behind.
  process.on("exit", removeTemporaryFiles);
  void main(processIo(launcher)).then(async (code) => {
    // Exit only once stdout and stderr have handed everything to the kernel, so no
    // output is lost; exiting explicitly means a server that never closes its
    // sockets cannot keep lmc alive.
    await Promise.all([stdout, stderr].filter((stream): stream is NodeJS.WriteStream => stream !== undefined).map(drained));
    process.exit(code);
  });
}

/** The one Io, from `process`. */
function processIo(launcher: Launcher): Io {
  return {
    argv: process.argv.slice(2),
    env: process.env,
    // A getter: Node creates process.stdin on first use, which costs 3-5 ms; only a
    // run that reads stdin (a prompt from it, batch mode) should pay for it.
    get stdin() {
      // Node reads a directory given as stdin (lmc < notes/) as empty; cat says what it is.
      // Checked once, when stdin is first asked for (batch mode asks more than once).
      if (!stdinChecked && opened("cannot read stdin", () => fstatSync(0)).isDirectory()) {
        throw new LmcError("cannot read stdin: is a directory", ExitCode.failed);
      }
      stdinChecked = true;
      return opened("cannot read stdin", () => process.stdin);
    },
    get stdout() {
      return openStdout();
    },
    print,
    get stderr() {
      return openStderr();
    },
    fds: { stdin: 0, stdout: 1 },
    nodeVersion: process.versions.node,
    // Called, not passed: the build loads node:v8 on first use, and most runs never use it.
    // The launcher is told, so that it records no cache, which V8 would refuse under other flags.
    setV8Flags: (flags) => {
      setFlagsFromString(flags);
      launcher.v8FlagsChanged();
    },
    // Asked only by -o, for a new file's mode.
    get umask() {
      return process.umask();
    },
    onInterrupt(handler) {
      const onSignal = (signal: (typeof stopSignals)[number]) => {
        // A second signal does not wait for the server to confirm the cancel.
        if (++interrupts > 1) process.exit(128 + constants.signals[signal]);
        handler(signal);
      };
      for (const signal of stopSignals) process.on(signal, onSignal);
      return () => stopSignals.forEach((signal) => process.off(signal, onSignal));
    },
    stdinFileOffset,
    mark: launcher.mark,
    tellLauncherNotes: launcher.tellNotes,
  };
}

/**
 * What `make` gives (process.stdin or stdout, or fstat of stdin), Node's failure to make
 * it said in words ("cannot read stdin: bad file descriptor", not "open EBADF"): Wine
 * hands a Unix file or pipe to a Windows process as a descriptor Node can neither fstat
 * nor open as a stream.
 */
function opened<T>(failure: string, make: () => T): T {
  try {
    return make();
  } catch (error) {
    throw new LmcError(`${failure}: ${systemErrorText(error)}`, ExitCode.failed, { cause: error });
  }
}

function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded) return resolve();
    stream.once("error", () => resolve());
    stream.write("", () => resolve());
  });
}
