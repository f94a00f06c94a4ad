import { afterEach, beforeEach, expect, it, vi } from "vitest";
import { ExitCode, type LmcError } from "../../src/errors.js";
import { deadline } from "../../src/prediction/deadline.js";

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

it("says no answer came when it passes before the answer began", () => {
  const passed = vi.fn<(error: LmcError) => void>();
  deadline(2, passed).start();
  vi.advanceTimersByTime(1999);
  expect(passed).not.toHaveBeenCalled();
  vi.advanceTimersByTime(1);
  expect(passed.mock.calls[0]![0].message).toBe("no answer within 2 s (--timeout)");
  expect(passed.mock.calls[0]![0].exitCode).toBe(ExitCode.timeout);
});

it("says it passed mid-completion once the answer began", () => {
  const passed = vi.fn<(error: LmcError) => void>();
  const watch = deadline(2, passed);
  watch.start();
  watch.answering();
  vi.advanceTimersByTime(2000);
  expect(passed.mock.calls[0]![0].message).toBe("the deadline of 2 s (--timeout) passed mid-completion");
});

it("counts only once started, never without --timeout, and not after it stops", () => {
  const passed = vi.fn();
  deadline(1, passed);
  deadline(undefined, passed).start();
  const stopped = deadline(1, passed);
  stopped.start();
  stopped.stop();
  vi.advanceTimersByTime(5000);
  expect(passed).not.toHaveBeenCalled();
});
