import { expect, it } from "vitest";
import { batchListenerLimit } from "../../src/batch/batch-mode.js";

// Every item in flight listens on the batch's signal; Node warns past the limit.
it.each([
  [12, 0, "no --host: lmc finds one server"],
  [12, 1, "one --host"],
  [4, 3, "three hosts"],
])("-P %i with %i hosts (%s) stays under the limit", (parallel, hosts) => {
  expect(batchListenerLimit(parallel, hosts)).toBeGreaterThan(parallel * Math.max(1, hosts));
});
