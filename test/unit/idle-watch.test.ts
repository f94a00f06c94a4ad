import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CompletionSink } from "../../src/output/sinks.js";
import { IdleWatch } from "../../src/prediction/idle-watch.js";

beforeEach(() => void vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] }));
afterEach(() => void vi.useRealTimers());

/** A sink whose writes wait until the test lets them through. */
function blockedSink() {
  let release = () => {};
  const sink: CompletionSink = {
    write: () => new Promise<void>((resolve) => (release = resolve)),
    commit: async () => {},
    discard: async () => {},
  };
  return { sink, release: () => release() };
}

describe("IdleWatch in a single run: one wait watched", () => {
  it("calls onSilent with what was awaited once the server said nothing for the idle time", () => {
    const silent = vi.fn();
    const watching = new IdleWatch(1000, "the connection").watch(silent);
    vi.advanceTimersByTime(999);
    expect(silent).not.toHaveBeenCalled();
    watching.alive("the first token");
    vi.advanceTimersByTime(999);
    expect(silent).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(silent).toHaveBeenCalledWith("the first token");
  });

  it("does not count the time lmc spends writing to a slow reader, and counts again after", async () => {
    const silent = vi.fn();
    const watch = new IdleWatch(1000, "the next token");
    watch.watch(silent);
    const { sink, release } = blockedSink();
    const written = watch.writesOf(sink).write("text");
    vi.advanceTimersByTime(5000);
    expect(silent).not.toHaveBeenCalled();
    release();
    await written;
    vi.advanceTimersByTime(999);
    expect(silent).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(silent).toHaveBeenCalledWith("the next token");
  });

  it("stops", () => {
    const silent = vi.fn();
    new IdleWatch(1000, "the model").watch(silent).stop();
    vi.advanceTimersByTime(5000);
    expect(silent).not.toHaveBeenCalled();
  });
});

describe("IdleWatch in batch mode: one per host, shared by its items", () => {
  it("calls a host silent after the idle time without a sign of life, and not before", () => {
    const watch = new IdleWatch(1000);
    let silent = 0;
    const watching = watch.watch(() => silent++);
    vi.advanceTimersByTime(700);
    watch.alive(); // another item on the same host heard from it
    vi.advanceTimersByTime(700);
    expect(silent).toBe(0);
    vi.advanceTimersByTime(400);
    expect(silent).toBe(1);
    watching.stop();
  });

  it("stops watching when told", () => {
    let silent = 0;
    new IdleWatch(1000).watch(() => silent++).stop();
    vi.advanceTimersByTime(5000);
    expect(silent).toBe(0);
  });
});
