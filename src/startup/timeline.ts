// Where the time of one run goes. With NODE_DEBUG=lmc each step prints one line on
// stderr, in milliseconds since the process started (`LMC 1234: +95.2 ms SDK loaded`).
// A run has one timeline, the launcher's; the bundle marks it through what the launcher
// hands it (launcher.ts).

import { debuglog } from "node:util";

export type Step =
  "bundle compiled" | "snapshot restored" | "SDK loaded" | "client constructed" | "model found" | "first fragment" | "done" | "V8 flags set" | "exit";

interface Timeline {
  /** Notes that the run reached `step`; only the first time counts (a batch reaches some many times). */
  mark: (step: Step) => void;
  reached: (step: Step) => boolean;
}

export function startTimeline(): Timeline {
  const debug = debuglog("lmc");
  const steps = new Map<Step, number>();
  return {
    mark: (step) => {
      if (steps.has(step)) return;
      // Not performance.now(): the first use of `performance` loads ten of Node's modules.
      const at = process.uptime() * 1000;
      steps.set(step, at);
      debug(`+${at.toFixed(1)} ms ${step}`);
    },
    reached: (step) => steps.has(step),
  };
}
