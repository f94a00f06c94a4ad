// The watch over the SDK's client port, against a stand-in with the same shape
// (lmstudio-js 1.5's ClientPort: createChannel, receivedChannelSend, communicationWarning).

import { describe, expect, it, vi } from "vitest";
import { firstProblem, watchPort } from "../../src/lmstudio/port-watch.js";

function fakePort() {
  const closers: Array<() => void> = [];
  const port = {
    openChannels: new Map<number, { channel: unknown; onMessage?: (message: unknown) => void }>(),
    nextId: 0,
    createChannel(_endpoint: string, _param: unknown, onMessage?: (message: unknown) => void) {
      const channel = { onClose: { subscribe: (listener: () => void) => closers.push(listener) } };
      this.openChannels.set(this.nextId++, { channel, onMessage });
      return channel;
    },
    // As the SDK does: a message that fails validation is warned about, not handed on.
    receivedChannelSend(message: { channelId: number; message: { type: string; valid: boolean } }) {
      if (!message.message.valid)
        return this.communicationWarning(
          `Received invalid message ...\n\n- message.stats.stopReason: Invalid enum value. Expected 'a' | 'b', received 'new\x1b[2J'\n`,
        );
      this.openChannels.get(message.channelId)?.onMessage?.(message.message);
    },
    communicationWarning: vi.fn((_warning: string) => {}),
    transport: { status: "CONNECTED" },
  };
  return { port, close: () => closers.forEach((close) => close()) };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("watchPort", () => {
  it("reports a prediction channel that closes without its result, and not one that had it", async () => {
    const { port, close } = fakePort();
    const watch = watchPort(port);
    const [withResult, without] = [vi.fn(), vi.fn()];
    watch.predicting(() => port.createChannel("predict", {}), withResult);
    watch.predicting(() => port.createChannel("predict", {}), without);
    port.receivedChannelSend({ channelId: 0, message: { type: "success", valid: true } });
    close();
    await turn();
    expect(withResult).not.toHaveBeenCalled();
    expect(without).toHaveBeenCalledWith("ended the prediction without its result");
  });

  it("reports a message the SDK refused to the prediction it was for, at once, and still lets the SDK warn", () => {
    const { port } = fakePort();
    const warned = port.communicationWarning;
    const watch = watchPort(port);
    const [other, refused] = [vi.fn(), vi.fn()];
    watch.predicting(() => port.createChannel("predict", {}), other);
    watch.predicting(() => port.createChannel("predict", {}), refused);
    port.receivedChannelSend({ channelId: 1, message: { type: "success", valid: false } });
    expect(refused).toHaveBeenCalledWith("sent a result that lmc cannot read (stats.stopReason: Invalid enum value, received 'new\\x1b[2J')");
    expect(other).not.toHaveBeenCalled();
    expect(warned).toHaveBeenCalledTimes(1);
  });

  it("reports a frame that is no message at all to every prediction in flight", () => {
    const { port } = fakePort();
    const watch = watchPort(port);
    const troubles = [vi.fn(), vi.fn()];
    for (const trouble of troubles) watch.predicting(() => port.createChannel("predict", {}), trouble);
    watch.unreadableFrame("a message that is not JSON");
    for (const trouble of troubles) expect(trouble).toHaveBeenCalledWith("sent a message that is not JSON");
    expect(watch.connected()).toBe(true);
  });

  it("watches nothing, and breaks nothing, where the SDK's port is not what it expects", () => {
    const watch = watchPort(undefined);
    expect(watch.predicting(() => 42, vi.fn())).toBe(42);
    expect(watch.connected()).toBeUndefined();
  });
});

describe("firstProblem", () => {
  it("is the first line of zod's list, shortened and escaped", () => {
    expect(firstProblem("x\n- message.fragment.content: Expected string, received number\n- message.b: Required")).toBe(
      " (fragment.content: Expected string, received number)",
    );
    expect(firstProblem(`- message.a: ${"x".repeat(500)}`)).toHaveLength(" (".length + 200 + "…)".length);
    expect(firstProblem("no list")).toBe("");
  });
});
