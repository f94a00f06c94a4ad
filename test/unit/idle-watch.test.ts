import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { CompletionSink } from "../../src/output/sinks.js";
import { idleWatch } from "../../src/prediction/idle-watch.js";

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

describe("idleWatch: --idle-timeout in a single run", () => {
  it("calls onSilent with what was awaited once the server said nothing for the idle time", () => {
    const silent = vi.fn();
    const watch = idleWatch(1000, "the connection", silent);
    vi.advanceTimersByTime(999);
    expect(silent).not.toHaveBeenCalled();
    watch.alive("the first token");
    vi.advanceTimersByTime(999);
    expect(silent).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(silent).toHaveBeenCalledWith("the first token");
  });

  it("does not count the time lmc spends writing to a slow reader, and counts again after", async () => {
    const silent = vi.fn();
    const watch = idleWatch(1000, "the next token", silent);
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
    idleWatch(1000, "the model", silent).stop();
    vi.advanceTimersByTime(5000);
    expect(silent).not.toHaveBeenCalled();
  });
});
