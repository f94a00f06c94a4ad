// Where the time of one run goes. With NODE_DEBUG=lmc each step prints one line on
// stderr, in milliseconds since the process started (`LMC 1234: +95.2 ms SDK loaded`).
// The launcher (src/startup/launch.ts) is built apart from the bundle and asks which steps a run
// reached, so the steps live in a registry on globalThis that both copies of this file share.

import { debuglog } from "node:util";

export type Step =
  | "bundle compiled"
  | "snapshot restored"
  | "SDK loaded"
  | "client constructed"
  | "model found"
  | "first fragment"
  | "done"
  | "V8 flags set"
  | "exit";

const debug = debuglog("lmc");
const REGISTRY = Symbol.for("lmc.timeline");

function steps(): Map<Step, number> {
  const global = globalThis as { [REGISTRY]?: Map<Step, number> };
  return (global[REGISTRY] ??= new Map());
}

/** Notes that the run reached `step`; only the first time counts (a batch reaches some many times). */
export function mark(step: Step): void {
  if (steps().has(step)) return;
  // Not performance.now(): the first use of `performance` loads ten of Node's modules.
  const at = process.uptime() * 1000;
  steps().set(step, at);
  debug(`+${at.toFixed(1)} ms ${step}`);
}

export function reached(step: Step): boolean {
  return steps().has(step);
}
