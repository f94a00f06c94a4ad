// The --list action: the models LM Studio has downloaded, the loaded ones marked;
// listing.ts formats them.

import type { ListOptions } from "../command-line/options.js";
import { raceAbort } from "../lib/abort.js";
import { ExitCode } from "../errors.js";
import type { Io } from "../io.js";
import { withSession } from "../lmstudio/connect.js";
import { streamWriter } from "../output/sinks.js";
import { interruptible } from "../prediction/run-context.js";
import { watchRun } from "../prediction/idle-watch.js";
import { formatListing } from "./listing.js";

export async function list(options: ListOptions, io: Io): Promise<ExitCode> {
  return interruptible(options, io, async (stop, deadline) => {
    deadline.start();
    const models = await withSession(options, io, stop, async (session, host) => {
      // A server that accepted the connection and then says nothing ends the run, as a completion's does.
      const { silence } = watchRun(session, host, options.idleTimeoutSec, stop, "the list of models");
      try {
        return await raceAbort(session.listModels(), stop.signal);
      } finally {
        silence.stop();
      }
    });
    const stdout = streamWriter(io.stdout);
    await stdout.write(formatListing(models, { json: options.json, terminal: io.stdout.isTTY === true }));
    await stdout.flush();
    return ExitCode.ok;
  });
}
