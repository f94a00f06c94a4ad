// What the launcher (src/launch.ts) has to say under --verbose: why it did not use the
// user's code cache. The launcher runs before the command line is read, so it leaves its
// notes here, and main() hands them to stderr once it knows the run is verbose; a note
// left later (a cache compiled when the SDK is first loaded) goes straight there. Like
// the timeline, the notes live on globalThis, shared by the launcher's copy of this file
// and the bundle's.

interface Notes {
  pending: string[];
  tell?: (note: string) => void;
}

const REGISTRY = Symbol.for("lmc.launcherNotes");

function notes(): Notes {
  const global = globalThis as { [REGISTRY]?: Notes };
  return (global[REGISTRY] ??= { pending: [] });
}

/** Leaves a note for --verbose. */
export function leaveNote(note: string): void {
  const { tell, pending } = notes();
  if (tell) tell(note);
  else pending.push(note);
}

/** Hands the notes left so far, and every later one, to `tell` (a verbose run's stderr). */
export function tellNotes(tell: (note: string) => void): void {
  const registry = notes();
  registry.tell = tell;
  for (const note of registry.pending.splice(0)) tell(note);
}
