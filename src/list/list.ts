// list/: the --list action (here): the models LM Studio has downloaded, the loaded
// ones marked; listing.ts formats them.

import type { RunOptions } from "../command-line/resolve-options.js";
import { raceAbort } from "../abort.js";
import { ExitCode } from "../errors.js";
import type { Io } from "../io.js";
import { withSession } from "../lmstudio/connect.js";
import { streamWriter } from "../output/sinks.js";
import { interruptible } from "../run-context.js";
import { formatListing } from "./listing.js";

export async function list(options: RunOptions, io: Io): Promise<ExitCode> {
  return interruptible(options, io, async (stop, deadline) => {
    deadline.start();
    const models = await withSession(options, io.stderr, stop, (session) => raceAbort(session.listModels(), stop.signal));
    const stdout = streamWriter(io.stdout);
    await stdout.write(formatListing(models, { json: options.json, terminal: io.stdout.isTTY === true }));
    await stdout.flush();
    return ExitCode.ok;
  });
}
