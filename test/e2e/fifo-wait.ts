// Waiting, without a fixed sleep, until lmc waits on a FIFO the test made: only then is
// a signal sent to it a signal to a waiting lmc, not to a process still starting up
// (which the default action would kill before lmc's own handlers are in place).

import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/**
 * Resolves once process `pid` waits on `path`: it has the FIFO open, or one of its
 * threads waits in open(2) for the FIFO's other end (Linux's wchan says so).
 */
export function waitsOn(pid: number, path: string): Promise<void> {
  const holds = () => {
    try {
      if (readdirSync(`/proc/${pid}/fd`).some((fd) => safeReadlink(`/proc/${pid}/fd/${fd}`) === path)) return true;
      return readdirSync(`/proc/${pid}/task`).some((task) => safeRead(`/proc/${pid}/task/${task}/wchan`) === "wait_for_partner");
    } catch {
      return false; // not started yet, or gone
    }
  };
  // Gives up polling after 20 s, when runLmc kills lmc anyway: a process that never
  // waits on the FIFO leaves no poll running behind the test.
  const giveUpAt = Date.now() + 20_000;
  return new Promise((resolve) => {
    const poll = setInterval(() => (holds() || Date.now() > giveUpAt) && (clearInterval(poll), resolve()), 20);
  });
}

const safeReadlink = (path: string) => {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
};
const safeRead = (path: string) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
};
