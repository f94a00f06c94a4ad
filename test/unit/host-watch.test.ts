import { afterEach, expect, it, vi } from "vitest";
import { HostWatch } from "../../src/batch/host-watch.js";

afterEach(() => void vi.useRealTimers());

it("calls a host silent after the idle time without a sign of life, and not before", () => {
  vi.useFakeTimers();
  const watch = new HostWatch(1000);
  let silent = 0;
  const stop = watch.watch(() => silent++);
  vi.advanceTimersByTime(700);
  watch.alive(); // another item on the same host heard from it
  vi.advanceTimersByTime(700);
  expect(silent).toBe(0);
  vi.advanceTimersByTime(400);
  expect(silent).toBe(1);
  stop();
});

it("stops watching when told", () => {
  vi.useFakeTimers();
  let silent = 0;
  new HostWatch(1000).watch(() => silent++)();
  vi.advanceTimersByTime(5000);
  expect(silent).toBe(0);
});
