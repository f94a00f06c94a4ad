// Batch mode over several LM Studio servers: each host has its own in-flight
// limit; an item goes to the live host with the fewest in flight. A host that
// fails (unreachable, silent, or its connection lost) is taken out of the
// rotation, and the item it was serving is retried on another host, once. So is
// a host whose predictions fail MAX_FAILURES_IN_A_ROW times in a row, as long as
// another host is left to serve.

import { ExitCode, LmcError } from "../errors.js";

export interface PooledHost<S> {
  url: string;
  session: S;
  inFlight: number;
  /** Why it was taken out of the rotation; undefined while it serves. */
  failure?: string;
  /** Items that failed on it since the last that succeeded. */
  failuresInARow: number;
}

/**
 * One or two failed items may be the items' own fault (a prompt the model cannot
 * take, a model key only that item names); three in a row, with no success in
 * between, are far likelier the host's (a crashed model, none loaded).
 */
export const MAX_FAILURES_IN_A_ROW = 3;

export class HostPool<S> {
  readonly hosts: PooledHost<S>[];
  private waiting: Array<() => void> = [];

  constructor(
    urls: readonly string[],
    private readonly perHost: number,
    open: (url: string) => S,
  ) {
    this.hosts = urls.map((url) => ({ url, session: open(url), inFlight: 0, failuresInARow: 0 }));
  }

  /** A live host with room, other than `avoid`; waits for room. Throws when no live host is left. */
  async acquire(avoid?: PooledHost<S>): Promise<PooledHost<S>> {
    for (;;) {
      const live = this.hosts.filter((host) => host.failure === undefined && host !== avoid);
      if (live.length === 0) {
        const failures = this.hosts.map((host) => `${host.url}: ${host.failure ?? "already tried"}`).join("; ");
        throw new LmcError(`no LM Studio host is left to serve (${failures})`, ExitCode.unreachable);
      }
      const host = live.filter((h) => h.inFlight < this.perHost).sort((a, b) => a.inFlight - b.inFlight)[0];
      if (host) {
        host.inFlight++;
        return host;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  release(host: PooledHost<S>): void {
    host.inFlight--;
    this.wake();
  }

  /** Takes a host out of the rotation; true the first time. */
  fail(host: PooledHost<S>, reason: string): boolean {
    if (host.failure !== undefined) return false;
    host.failure = reason;
    this.wake(); // waiters re-check: they may now have no host left at all
    return true;
  }

  /** An item succeeded on `host`. */
  succeeded(host: PooledHost<S>): void {
    host.failuresInARow = 0;
  }

  /**
   * An item failed on `host` in a way that may be the host's fault. Takes the host
   * out after MAX_FAILURES_IN_A_ROW, unless it is the last one serving (then the
   * failures stay the items'); true when this took it out.
   */
  itemFailed(host: PooledHost<S>, reason: string): boolean {
    if (++host.failuresInARow < MAX_FAILURES_IN_A_ROW || !this.hasLiveHostBesides(host)) return false;
    return this.fail(host, `${MAX_FAILURES_IN_A_ROW} items in a row failed there, the last with: ${reason}`);
  }

  /** Whether a host other than `host` still serves. */
  hasLiveHostBesides(host: PooledHost<S>): boolean {
    return this.hosts.some((other) => other !== host && other.failure === undefined);
  }

  private wake(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}
