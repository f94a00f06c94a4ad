// Batch mode over several LM Studio servers: each host has its own in-flight
// limit; an item goes to the live host with the fewest in flight. A host that
// fails (unreachable, or its connection lost) is taken out of the rotation, and
// the item it was serving is retried on another host, once.

import { ExitCode, LmcError } from "./errors.js";

export interface PooledHost<S> {
  url: string;
  session: S;
  inFlight: number;
  /** Why it was taken out of the rotation; undefined while it serves. */
  failure?: string;
}

export class HostPool<S> {
  readonly hosts: PooledHost<S>[];
  private waiting: Array<() => void> = [];

  constructor(
    urls: readonly string[],
    private readonly perHost: number,
    open: (url: string) => S,
  ) {
    this.hosts = urls.map((url) => ({ url, session: open(url), inFlight: 0 }));
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

  private wake(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}
