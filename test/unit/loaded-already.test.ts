import { describe, expect, it } from "vitest";
import { asksLoadSettings, loadedAlreadyNote } from "../../src/lmstudio/loaded-already.js";

const loaded = { modelKey: "qwen", identifier: "qwen:2", contextLength: 2048 };

describe("loadedAlreadyNote", () => {
  it("says what the loaded instance has, what was not applied, and what to do", () => {
    expect(loadedAlreadyNote({ model: "qwen", load: { contextLength: 8192 } }, loaded)).toBe(
      "qwen:2 is already loaded with context length 2048; --context-length 8192 applies when lmc loads it: " +
        "unload it in LM Studio or with `lms unload qwen:2`, then run again",
    );
  });

  it("says nothing when the context length asked is the one it has, and nothing else was asked", () => {
    expect(loadedAlreadyNote({ model: "qwen", load: { contextLength: 2048, seed: 3 } }, loaded)).toBeUndefined();
    expect(loadedAlreadyNote({ model: "qwen", load: {} }, loaded)).toBeUndefined();
  });

  it("always says --ttl and --gpu, which lmc cannot check, and names the model to give when none was", () => {
    expect(loadedAlreadyNote({ load: { contextLength: 4096, gpu: { ratio: "max" } }, ttlSec: 60 }, loaded)).toBe(
      "qwen:2 is already loaded with context length 2048 (lmc cannot tell its idle TTL or GPU offload); " +
        "--context-length 4096, --ttl 60 and --gpu max apply when lmc loads it: " +
        "unload it in LM Studio or with `lms unload qwen:2`, then run again with --model qwen",
    );
    expect(loadedAlreadyNote({ model: "qwen", load: { contextLength: 2048, gpu: { ratio: 0.5 } } }, loaded)).toBe(
      "qwen:2 is already loaded (lmc cannot tell its GPU offload); --gpu 0.5 applies when lmc loads it: " +
        "unload it in LM Studio or with `lms unload qwen:2`, then run again",
    );
  });

  it("says --context-length when LM Studio did not tell the context length", () => {
    expect(loadedAlreadyNote({ model: "qwen", load: { contextLength: 4096 } }, { ...loaded, contextLength: undefined })).toMatch(
      /^qwen:2 is already loaded; --context-length 4096 applies when lmc loads it: /,
    );
  });

  it("escapes the control characters of the server's names, bound for a terminal", () => {
    const note = loadedAlreadyNote({ load: { contextLength: 1 } }, { modelKey: "a\u001b[2Jb", identifier: "x\ny", contextLength: 2 });
    expect(note).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe("asksLoadSettings", () => {
  it("is true only for --context-length, --gpu or --ttl (not the seed, which goes with every prediction too)", () => {
    expect(asksLoadSettings({ load: { seed: 1 } })).toBe(false);
    expect(asksLoadSettings({ load: { contextLength: 1 } })).toBe(true);
    expect(asksLoadSettings({ load: { gpu: { ratio: "off" } } })).toBe(true);
    expect(asksLoadSettings({ load: {}, ttlSec: 5 })).toBe(true);
  });
});
