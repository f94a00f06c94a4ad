// What the benchmark scripts share: the median of their rounds, and the environment a
// typical user runs lmc in.

import { cleanEnv } from "../../test/e2e/lmc-process.js";

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** A typical user's environment: no NODE_EXTRA_CA_CERTS, which adds 40-70 ms to every Node start here. */
export function benchEnv(cacheHome: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...cleanEnv(), XDG_CACHE_HOME: cacheHome };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  return env;
}
