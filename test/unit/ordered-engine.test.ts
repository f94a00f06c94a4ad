import { describe, expect, it } from "vitest";
import { countRecords, itemsFromStream, jsonItem, splitBoundedRecords, splitRecords, type BatchItem } from "../../src/batch/input.js";
import { runInOrder, type BatchRecord } from "../../src/batch/ordered-engine.js";

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of source) out.push(value);
  return out;
}
async function* chunks(...parts: string[]) {
  for (const part of parts) yield Buffer.from(part);
}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("splitRecords", () => {
  it.each<[string[], string[]]>([
    [["a\nb\n"], ["a", "b"]],
    [["a\nb"], ["a", "b"]],
    [
      ["a", "b\nc", "\n"],
      ["ab", "c"],
    ],
    [["\n\n"], ["", ""]],
    [[""], []],
  ])("%j → %j", async (parts, expected) => {
    expect((await collect(splitRecords(chunks(...parts), 0x0a))).map(String)).toEqual(expected);
  });

  it("joins a record spread over many chunks, and leaves what follows intact", async () => {
    const parts = Array.from({ length: 5000 }, (_, i) => `${i % 10}`.repeat(7));
    const records = await collect(splitRecords(chunks(...parts, "\nafter", "\n", "end"), 0x0a));
    expect(records.map(String)).toEqual([parts.join(""), "after", "end"]);
  });

  it("keeps no view of a chunk it was given beyond the record in it", async () => {
    const chunk = Buffer.from("a\nbc");
    const records = splitRecords(
      (async function* () {
        yield chunk;
        yield Buffer.from("d\n");
      })(),
      0x0a,
    );
    const first = await records.next();
    expect(String(first.value)).toBe("a");
    const second = await records.next();
    chunk.fill(0x78); // the caller reuses its buffer
    expect(String(second.value)).toBe("bcd");
  });
});

describe("splitBoundedRecords", () => {
  it.each<[string[], Array<string | undefined>]>([
    [["abc\nabcd\nab"], ["abc", undefined, "ab"]],
    [
      ["ab", "c\nab", "cd", "\nx"],
      ["abc", undefined, "x"],
    ],
    [
      ["abcdefgh", "ij", "\n", "a\n"],
      [undefined, "a"],
    ],
    [["abcd"], [undefined]],
    [["ab", "cd"], [undefined]],
    [["\n\n"], ["", ""]],
  ])("at most 3 bytes: %j → %j (undefined: too large)", async (parts, expected) => {
    const records = await collect(splitBoundedRecords(chunks(...parts), 0x0a, 3));
    expect(records.map((record) => (record === undefined ? undefined : String(record)))).toEqual(expected);
  });

  it("keeps none of an endless record", async () => {
    let kept = 0;
    const endless = (async function* () {
      for (let i = 0; i < 1000; i++) yield Buffer.alloc(64 * 1024, 0x61);
      yield Buffer.from("\nafter");
    })();
    for await (const record of splitBoundedRecords(endless, 0x0a, 1024 * 1024)) kept += record === undefined ? 0 : record.length;
    expect(kept).toBe("after".length);
  });
});

describe("countRecords", () => {
  it.each<string[]>([["a\nb\n"], ["a\nb"], ["a", "b\nc", "\n"], ["\n\n"], [""], ["", "x"], ["x\n", ""], ["\n", "\n", "y"]])(
    "counts what splitRecords makes of %j",
    async (...parts) => {
      const made = (await collect(splitRecords(chunks(...parts), 0x0a))).length;
      expect(await countRecords(chunks(...parts), 0x0a)).toBe(made);
    },
  );
});

describe("itemsFromStream", () => {
  it("numbers lines and drops a CR before the newline", async () => {
    expect(await collect(itemsFromStream(chunks("one\r\ntwo\n"), "lines"))).toEqual([
      { index: 0, text: "one" },
      { index: 1, text: "two" },
    ]);
  });
  it("splits at NUL, keeping newlines inside prompts", async () => {
    expect((await collect(itemsFromStream(chunks("a\nb\0c\0"), "nul"))).map((i) => i.text)).toEqual(["a\nb", "c"]);
  });
});

describe("jsonItem", () => {
  it("reads the prompt and the item's settings", () => {
    expect(jsonItem(0, '{"prompt":"hi","model":"m","stop":["."],"maxTokens":5,"temperature":0}')).toEqual({
      index: 0,
      text: "hi",
      model: "m",
      stopStrings: ["."],
      prediction: { maxTokens: 5, temperature: 0 },
    });
    expect(jsonItem(1, '{"prompt":"hi","stop":"\\n"}').stopStrings).toEqual(["\n"]);
  });
  it("keeps an id, any JSON value, null too, and on a line that fails its checks; a line that is not JSON has none", () => {
    expect(jsonItem(0, '{"prompt":"hi","id":"a-1"}')).toEqual({ index: 0, id: "a-1", text: "hi" });
    expect(jsonItem(0, '{"prompt":"hi","id":null}')).toEqual({ index: 0, id: null, text: "hi" });
    const hostile = jsonItem(0, '{"prompt":"hi","id":{"__proto__":{"polluted":1},"a":[1,{"b":null}]}}');
    expect(JSON.stringify(hostile.id)).toBe('{"__proto__":{"polluted":1},"a":[1,{"b":null}]}');
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(jsonItem(3, '{"id":7,"prompt":"hi","maxTokens":0}')).toMatchObject({ index: 3, id: 7, problem: expect.stringMatching(/^line 4: "maxTokens"/) });
    expect(jsonItem(3, '{"id":[7],"text":"hi"}')).toMatchObject({ id: [7], problem: 'line 4 has no "prompt" string' });
    expect("id" in jsonItem(3, '{"id":7,"prompt":')).toBe(false);
    expect("id" in jsonItem(3, '["id"]')).toBe(false);
  });
  it.each([
    ["nope", /^line 1 is not valid JSON \(column 1\)$/],
    ['{"prompt": secret-value}', /^line 1 is not valid JSON \(column 12\)$/],
    ['{"prompt": "secret', /^line 1 is not valid JSON \(it ends too early\)$/],
    ['{"prompt":"hi","maxTokens":"secret"}', /^line 1: "maxTokens" must be a whole number >= 1, or off$/],
    ['{"prompt":"hi","model":"lmc\\ntiny"}', /^line 1: "model" must be a model key: 1 to 1024 characters, with no control characters$/],
    ['{"prompt":"hi","model":"lmc\\ttiny"}', /"model" must be a model key/],
    ['{"prompt":"hi","model":7}', /"model" must be a model key/],
    ['{"prompt":"hi","secret value!":1}', /^line 1: unknown field; known: prompt, id, model/],
    ['{"text":"hi"}', /line 1 has no "prompt" string/],
    ['{"prompt":"hi","maxTokens":0}', /line 1: "maxTokens" must be a whole number >= 1/],
    ['{"prompt":"hi","colour":"red"}', /line 1: unknown field "colour"; known: prompt, id, model, stop, chat, system, maxTokens/],
    ['{"prompt":"hi","stop":[""]}', /"stop" must be a string or a list of non-empty strings/],
  ])("gives %j a problem", (line, problem) => {
    expect(jsonItem(0, line).problem).toMatch(problem);
  });
  it.each(["__proto__", "constructor", "hasOwnProperty", "toString", "valueOf", "isPrototypeOf"])(
    "gives a field named %j, a member of Object.prototype, the problem of any unknown field",
    (name) => {
      const item = jsonItem(0, `{"prompt":"hi",${JSON.stringify(name)}:{"maxTokens":1}}`);
      expect(item.problem).toMatch(new RegExp(`^line 1: unknown field "${name}"; known: prompt, id, model, stop, chat, system, maxTokens`));
      expect(item.prediction).toBeUndefined();
    },
  );
});

describe("runInOrder", () => {
  const items = (n: number) =>
    (async function* () {
      for (let index = 0; index < n; index++) yield { index, text: `p${index}` } as BatchItem;
    })();

  it("writes records in input order although they finish out of order", async () => {
    const lines: string[] = [];
    const summary = await runInOrder({
      items: items(6),
      parallel: 3,
      signal: new AbortController().signal,
      write: async (line) => void lines.push(line),
      complete: async (item) => {
        await sleep((6 - item.index) * 5);
        return { index: item.index, completion: item.text };
      },
    });
    expect(lines.map((line) => JSON.parse(line).index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(summary).toMatchObject({ items: 6, failures: 0 });
  });

  it("never has more than `parallel` in flight, and reads no further ahead than it may", async () => {
    let inFlight = 0;
    let most = 0;
    let read = 0;
    const source = (async function* () {
      for (let index = 0; index < 100; index++) {
        read++;
        yield { index, text: "" } as BatchItem;
      }
    })();
    let readAtFirstRecord = -1;
    await runInOrder({
      items: source,
      parallel: 2,
      signal: new AbortController().signal,
      write: async () => void (readAtFirstRecord < 0 && (readAtFirstRecord = read)),
      complete: async (item) => {
        most = Math.max(most, ++inFlight);
        await sleep(item.index === 0 ? 30 : 1); // the first is slow: the others must not run away
        inFlight--;
        return { index: item.index };
      },
    });
    expect(most).toBe(2);
    expect(readAtFirstRecord).toBeLessThanOrEqual(2 * 4 + 1);
  });

  it("counts failures and tokens", async () => {
    const summary = await runInOrder({
      items: items(3),
      parallel: 2,
      signal: new AbortController().signal,
      write: async () => {},
      complete: async (item): Promise<BatchRecord> =>
        item.index === 1
          ? { index: 1, error: "no", status: 1 }
          : {
              index: item.index,
              stats: { model: { key: "", displayName: "", identifier: "" }, stopReason: "eosFound", promptTokensCount: 2, predictedTokensCount: 3 },
            },
    });
    expect(summary).toMatchObject({ items: 3, failures: 1, promptTokensCount: 4, predictedTokensCount: 6 });
  });

  it("stops at an abort, keeping the records already finished in order", async () => {
    const stop = new AbortController();
    const lines: string[] = [];
    const run = runInOrder({
      items: items(50),
      parallel: 2,
      signal: stop.signal,
      write: async (line) => void lines.push(line),
      complete: async (item) => {
        if (item.index === 5) stop.abort(new Error("interrupted"));
        await sleep(2);
        if (stop.signal.aborted) throw stop.signal.reason;
        return { index: item.index };
      },
    });
    await expect(run).rejects.toThrow("interrupted");
    const indexes = lines.map((line) => JSON.parse(line).index);
    // Items 0-3 finished before item 5 aborted the batch (item 4 was in flight with it):
    // each of them is written, in order, and nothing after.
    expect(indexes).toEqual([0, 1, 2, 3]);
  });

  it("ends the batch when complete throws (a fatal error)", async () => {
    const run = runInOrder({
      items: items(10),
      parallel: 2,
      signal: new AbortController().signal,
      write: async () => {},
      complete: async (item) => {
        if (item.index === 0) throw new Error("unreachable");
        return { index: item.index };
      },
    });
    await expect(run).rejects.toThrow("unreachable");
  });
});

describe("runInOrder with skip", () => {
  it("passes over skipped items without completing or writing them, in order", async () => {
    const lines: string[] = [];
    const completed: number[] = [];
    const summary = await runInOrder({
      items: (async function* () {
        for (let index = 0; index < 5; index++) yield { index, text: "" };
      })(),
      parallel: 2,
      skip: new Set([0, 3]),
      signal: new AbortController().signal,
      write: async (line) => void lines.push(line),
      complete: async (item) => (completed.push(item.index), { index: item.index }),
    });
    expect(completed.sort()).toEqual([1, 2, 4]);
    expect(lines.map((line) => JSON.parse(line).index)).toEqual([1, 2, 4]);
    expect(summary).toMatchObject({ items: 3, skipped: 2 });
  });

  it("writes a skipped item's earlier output in its place when told it", async () => {
    const lines: string[] = [];
    await runInOrder({
      items: (async function* () {
        for (let index = 0; index < 4; index++) yield { index, text: "" };
      })(),
      parallel: 2,
      skip: new Set([0, 2]),
      earlier: async (index) => `earlier ${index}\n`,
      signal: new AbortController().signal,
      write: async (line) => void lines.push(line),
      complete: async (item) => ({ index: item.index }),
    });
    expect(lines).toEqual(["earlier 0\n", '{"index":1}\n', "earlier 2\n", '{"index":3}\n']);
  });
});
