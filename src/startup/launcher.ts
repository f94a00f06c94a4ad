// What a launcher hands the bundle it runs. The bundle's entry (src/cli.ts) exports
// run(launcher); launch.ts, the snapshot's entry (snapshot-entry.ts) and the build's
// recorder of the code cache each call it with their own. The object is passed, not
// shared through a global: launch.ts is built apart from the bundle, so the two hold
// separate copies of any module they both import.

import type { Step } from "./timeline.js";

export interface Launcher {
  /** Notes that the run reached `step` on the launcher's timeline (NODE_DEBUG=lmc prints it). */
  mark: (step: Step) => void;
  /**
   * Hands what the launcher has to say under --verbose (why a code cache was not used)
   * to `tell`: the notes left so far, and every later one. The launcher runs before the
   * command line is read, so only main() knows whether the run is verbose.
   */
  tellNotes: (tell: (note: string) => void) => void;
  /** Says that the run changed V8's flags (batch mode does): V8 would refuse a cache recorded now. */
  v8FlagsChanged: () => void;
}

/** The bundle's entry module, as its first part exports it (runBundle in code-cache.ts). */
export interface BundleEntry {
  run: (launcher: Launcher) => void;
}
