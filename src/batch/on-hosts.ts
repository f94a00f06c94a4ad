// Batch mode over several hosts: a pool of sessions, each host with --parallel in
// flight; an item whose host fails gets one more chance on another.

import { settleWithin } from "../lib/abort.js";
import type { BatchOptions } from "../command-line/options.js";
import { ExitCode, isHostFailure } from "../errors.js";
import type { Io } from "../io.js";
import { sessionOpener } from "../lmstudio/connect.js";
import type { Session } from "../lmstudio/session.js";
import { completeItem, failedRecord } from "./complete-item.js";
import { HostPool, type PooledHost } from "./host-pool.js";
import { IdleWatch } from "../prediction/idle-watch.js";
import type { BatchRecord, BatchSummary, RunItems } from "./ordered-engine.js";

/** Prediction failures that may be the host's fault rather than the item's. */
const maybeTheHosts = new Set<number>([ExitCode.failed, ExitCode.modelNotFound]);

/** Several hosts: a pool of sessions, each host with --parallel in flight. */
export async function batchOnHosts(
  options: BatchOptions,
  io: Io,
  signal: AbortSignal,
  run: RunItems,
): Promise<BatchSummary & { failedHosts: Array<{ host: string; error: string }> }> {
  const pool = new HostPool(options.hosts, options.parallel, await sessionOpener(options, io));
  // Each host's idle watch, shared by its items in flight.
  const watches = new Map<PooledHost<Session>, IdleWatch>();
  const watchOf = (host: PooledHost<Session>) => {
    let watch = watches.get(host);
    if (watch === undefined) watches.set(host, (watch = new IdleWatch(options.idleTimeoutSec * 1000)));
    return watch;
  };
  const sayTakenOut = (host: PooledHost<Session>) => io.stderr.write(`lmc: ${host.failure}; that host is taken out of the rotation\n`);
  try {
    const summary = await run(options.parallel * options.hosts.length, async (item) => {
      let failed: PooledHost<Session> | undefined;
      for (;;) {
        const host = await pool.acquire(failed);
        const served = (record: BatchRecord) => ({ ...record, host: host.url, ...(failed ? { retriedFrom: failed.url } : {}) });
        try {
          const record = await completeItem(host.session, host.url, watchOf(host), item, options, signal);
          if (record.error === undefined || record.status === undefined || !maybeTheHosts.has(record.status)) {
            pool.succeeded(host);
            return served(record);
          }
          // Perhaps the host's fault: count it, and give the item one more chance elsewhere.
          if (pool.itemFailed(host, record.error)) sayTakenOut(host);
          if (failed || !pool.hasLiveHostBesides(host)) return served(record);
          failed = host;
        } catch (error) {
          if (signal.aborted || !isHostFailure(error)) throw error;
          if (pool.fail(host, error.message)) sayTakenOut(host);
          if (failed) return served(failedRecord(item, error.message, error.exitCode));
          failed = host;
        } finally {
          pool.release(host);
        }
      }
    });
    const failedHosts = pool.hosts.flatMap((host) => (host.failure === undefined ? [] : [{ host: host.url, error: host.failure }]));
    return { ...summary, failedHosts };
  } finally {
    await Promise.all(pool.hosts.map((host) => settleWithin(host.session.close(), 500)));
  }
}
