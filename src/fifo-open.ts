// Opening a FIFO the user named (-o, --schema, --resume) waits for its other end, in
// one of libuv's threads, and Node cannot exit while such a wait goes on: it joins
// those threads at exit. So each open of a FIFO is listed while it waits, and at exit
// lmc becomes the other end for a moment, which lets the open (and the exit) complete.

import { closeSync, constants, openSync, statSync } from "node:fs";

type Purpose = "read" | "write";

const waiting = new Set<{ path: string; purpose: Purpose }>();

/** Runs `open` (of `path`, for `purpose`); while it waits on a FIFO, exit can still release it. */
export async function openWaitingForPartner<T>(path: string, purpose: Purpose, open: () => Promise<T>): Promise<T> {
  if (!statSync(path, { throwIfNoEntry: false })?.isFIFO()) return open();
  const entry = { path, purpose };
  waiting.add(entry);
  try {
    return await open();
  } finally {
    waiting.delete(entry);
  }
}

/** For the exit hook: opens the other end of every FIFO still waited on, without waiting itself. */
export function releaseWaitingOpens(): void {
  for (const { path, purpose } of waiting) {
    try {
      closeSync(openSync(path, (purpose === "read" ? constants.O_WRONLY : constants.O_RDONLY) | constants.O_NONBLOCK));
    } catch {
      // gone, or its other end came meanwhile: nothing waits any more
    }
  }
}
