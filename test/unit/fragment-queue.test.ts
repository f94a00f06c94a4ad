import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CompletionTooLargeError, fragmentQueue } from "../../src/lmstudio/fragment-queue.js";
import type { Fragment } from "../../src/lmstudio/session.js";
import { TextBuilder } from "../../src/lib/text-builder.js";

async function drain(fragments: AsyncIterable<Fragment>): Promise<{ taken: Fragment[]; error?: unknown }> {
  const taken: Fragment[] = [];
  try {
    for await (const fragment of fragments) taken.push(fragment);
    return { taken };
  } catch (error) {
    return { taken, error };
  }
}

describe("TextBuilder", () => {
  it("is the pieces joined, whatever their number and size", () => {
    fc.assert(
      fc.property(fc.string(), fc.array(fc.string({ maxLength: 3 }), { maxLength: 5000 }), (start, pieces) => {
        const text = new TextBuilder(start);
        for (const piece of pieces) text.append(piece);
        const expected = start + pieces.join("");
        expect(text.toString()).toBe(expected);
        expect(text.isEmpty).toBe(expected === "");
      }),
      { numRuns: 50 },
    );
  });
});

describe("fragmentQueue", () => {
  it("hands over the fragments in order, a run of answer or reasoning joined while the reader is behind", async () => {
    const queue = fragmentQueue(100, () => {});
    queue.push("a", false);
    queue.push("b", false);
    queue.push("<think>", true);
    queue.push("c", false);
    queue.finish();
    expect(await drain(queue)).toEqual({
      taken: [
        { text: "ab", reasoning: false },
        { text: "<think>", reasoning: true },
        { text: "c", reasoning: false },
      ],
    });
  });

  it("takes the limit in UTF-8 bytes exactly; one byte more fails it, after what came within, and cancels once", async () => {
    let cancels = 0;
    const queue = fragmentQueue(6, () => cancels++);
    queue.push("é", false); // 2 bytes
    queue.push("abcd", false); // 6: the limit
    queue.push("x", false); // 7: past it
    queue.push("y", false); // after the end: ignored
    queue.finish();
    const { taken, error } = await drain(queue);
    expect(taken).toEqual([{ text: "éabcd", reasoning: false }]);
    expect(error).toBeInstanceOf(CompletionTooLargeError);
    expect((error as CompletionTooLargeError).exitCode).toBe(1);
    expect(cancels).toBe(1);
  });

  it("a reader that waits gets each fragment as it comes, then the failure", async () => {
    const queue = fragmentQueue(100, () => {});
    const reading = drain(queue);
    queue.push("a", false);
    await new Promise((resolve) => setImmediate(resolve));
    queue.push("b", false);
    queue.fail(new Error("lost"));
    const { taken, error } = await reading;
    expect(taken.map((fragment) => fragment.text)).toEqual(["a", "b"]);
    expect(error).toEqual(new Error("lost"));
  });
});
