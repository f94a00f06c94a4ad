// The single executable's entry when it is built with a V8 start-up snapshot
// (scripts/package.ts, scripts/snapshot-bundle.ts): the SDK is loaded and initialised
// (the schemas of its whole protocol built) while the snapshot is built, and every run
// starts from that heap. lmc's own code, src/cli.ts and all it imports, runs only when
// the executable does, so nothing of the process (argv, env, stdio, signals, umask) and
// no NODE_DEBUG setting is taken from the build. What the SDK computes when loaded is
// frozen, though: its seed for tool-call ids (Math.random at load) is the same in every
// run, which lmc, making no tool calls, never uses.

import { LMStudioClient } from "@lmstudio/sdk";
import { startupSnapshot } from "node:v8";
import type { BundleEntry } from "./launcher.js";
import { startTimeline } from "./timeline.js";

// Used, so that esbuild keeps the import: the SDK's package says it has no side effects.
if (typeof LMStudioClient !== "function") throw new Error("the SDK did not load");

startupSnapshot.setDeserializeMainFunction(() => {
  const timeline = startTimeline();
  process.on("exit", () => timeline.mark("exit"));
  timeline.mark("snapshot restored");
  // This entry is the launcher here: no code cache, so nothing to say under --verbose
  // and none to hold back from recording when batch mode changes V8's flags.
  (require("../cli.js") as BundleEntry).run({
    mark: timeline.mark,
    tellNotes: () => {},
    v8FlagsChanged: () => timeline.mark("V8 flags set"),
  });
});
