// --count-tokens and the overflow check before predicting, against the test server's
// real tokenizer and context lengths: a single run, batch mode, and what is not sent.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LMStudioClient } from "@lmstudio/sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { defaultCatalog, TINY_MODEL_PATH } from "../server/model-catalog.js";
import { startTestServer, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { runLmc, statsOf } from "./lmc-process.js";

/** A model loaded with a context of 64 tokens: a prompt of some lines overflows it. */
const SMALL = "lmc-tiny-64";
const SMALL_CONTEXT = 64;
const long = Array.from({ length: 80 }, () => "word").join(" ");

let server: TestServer;
let client: LMStudioClient;
beforeAll(async () => {
  server = await startTestServer({
    quiet: true,
    models: [...defaultCatalog(), { key: SMALL, path: TINY_MODEL_PATH, loaded: true, contextLength: SMALL_CONTEXT }],
  });
  client = new LMStudioClient({ baseUrl: server.url, logger: { debug() {}, info() {}, warn() {}, error() {} } });
}, 60_000);
afterAll(async () => {
  await client?.[Symbol.asyncDispose]();
  await server?.close();
});
beforeEach(() => server.setFault({ type: "none" }));

const lmc = (args: string[], input?: string) => runLmc(["--host", server.url, ...args], { input });
/** What the server's own tokenizer counts, through the SDK. */
const serverCount = async (model: string, prompt: string) => (await client.llm.model(model)).countTokens(prompt);
const predictions = () => server.received.filter((request) => request.channel !== "getOrLoad");

describe("--count-tokens in a single run", () => {
  it("writes the tokens of the prompt and the loaded instance's context length, and predicts nothing", async () => {
    const before = predictions().length;
    const result = await lmc(["--count-tokens", "My", "name", "is"]);
    expect(result.stderr).toBe(""); // no stats line: there was no prediction
    expect(result.code).toBe(0);
    const model = await client.llm.model("lmc-tiny");
    expect(result.text).toBe(`${JSON.stringify({ tokens: await model.countTokens("My name is"), contextLength: await model.getContextLength() })}\n`);
    expect(predictions().length).toBe(before);
  });

  it("counts what a completion of the same prompt counts, less the BOS token the model adds", async () => {
    for (const prompt of ["My name is", "Once upon a time,\nthere was", "<s>A prompt that begins with the BOS token's text"]) {
      const counted = JSON.parse((await lmc(["--count-tokens", prompt])).text);
      const completed = statsOf(await lmc(["-n", "1", prompt]));
      expect(counted.tokens).toBe(await serverCount("lmc-tiny", prompt));
      expect(completed.promptTokensCount).toBe(counted.tokens + (prompt.startsWith("<s>") ? 0 : 1));
    }
  });

  it("with --chat, measures the prompt the model's template makes, as the completion sends it, in a single run and a batch", async () => {
    const shown = (await lmc(["--chat", "--system", "Be brief.", "--show-prompt", "My name is"])).text;
    const counted = JSON.parse((await lmc(["--chat", "--system", "Be brief.", "--count-tokens", "My name is"])).text);
    expect(counted.tokens).toBe(await serverCount("lmc-tiny", shown));
    expect(counted.tokens).toBeGreaterThan(await serverCount("lmc-tiny", "My name is"));
    // The formatted prompt starts with the BOS token's text: the model adds none.
    expect(statsOf(await lmc(["--chat", "--system", "Be brief.", "-n", "1", "My name is"])).promptTokensCount).toBe(counted.tokens);
    const batch = await lmc(["--each", "--chat", "--system", "Be brief.", "--count-tokens", "--no-stats"], "My name is\n");
    expect(JSON.parse(batch.text)).toMatchObject({ index: 0, tokens: counted.tokens });
  });

  it("measures the prompt as it is sent: stdin, its last newline dropped, after the words", async () => {
    const result = await lmc(["--count-tokens", "Summarize:", "-"], "The article.\r\n");
    expect(JSON.parse(result.text).tokens).toBe(await serverCount("lmc-tiny", "Summarize: The article."));
  });

  it("gives the context length of the model asked for, loaded with a context of its own", async () => {
    const result = await lmc(["--count-tokens", "-m", SMALL, long]);
    expect(result.code).toBe(0); // counting a prompt that does not fit is the point
    expect(JSON.parse(result.text)).toEqual({ tokens: await serverCount(SMALL, long), contextLength: SMALL_CONTEXT });
  });

  it("writes the line to -o FILE, and nothing to --stats-file", async () => {
    const dir = tempDir("count-tokens");
    const [out, stats] = [join(dir, "count.json"), join(dir, "stats.jsonl")];
    const result = await lmc(["--count-tokens", "-o", out, "--stats-file", stats, "My name is"]);
    expect(result.code).toBe(0);
    expect(result.text).toBe("");
    expect(JSON.parse(readFileSync(out, "utf8"))).toEqual({ tokens: 3, contextLength: 2048 });
    expect(existsSync(stats)).toBe(false);
  });

  it("ignores --schema and --echo: the prompt is what is measured", async () => {
    const result = await lmc(["--count-tokens", "--echo", "--schema", '{"type":"object"}', "My name is"]);
    expect(result.code).toBe(0);
    expect(result.text).toBe('{"tokens":3,"contextLength":2048}\n');
  });

  it("refuses an empty prompt, --delimiter and --list as usage errors", async () => {
    expect((await lmc(["--count-tokens"], "")).code).toBe(2);
    const delimited = await lmc(["--count-tokens", "--each", "-d", "\\n"], "a\n");
    expect(delimited.code).toBe(2);
    expect(delimited.stderr).toMatch(/^lmc: --count-tokens writes JSON lines, so it cannot go with --delimiter/);
    expect((await lmc(["--count-tokens", "--list"])).code).toBe(2);
  });

  it("ends on --idle-timeout when the server never answers the count", async () => {
    server.setFault({ type: "unansweredRpc", endpoints: ["countTokens"] });
    const result = await lmc(["--count-tokens", "--idle-timeout", "1", "My name is"]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^lmc: LM Studio at .* did not answer for 1 s/);
    expect(result.text).toBe("");
  });

  it("stops on SIGTERM while the count is awaited: exit 143, nothing on stdout or in -o FILE", async () => {
    server.setFault({ type: "unansweredRpc", endpoints: ["countTokens"] });
    const dir = tempDir("count-tokens-term");
    const out = join(dir, "count.json");
    const result = await runLmc(["--host", server.url, "--count-tokens", "-o", out, "My name is"], {
      onSpawn: (child) => void setTimeout(() => child.kill("SIGTERM"), 500),
    });
    expect(result.code).toBe(143);
    expect(result.stderr).toBe("lmc: terminated (SIGTERM)\n");
    expect(result.text).toBe("");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("counts a prompt of 4 MiB", async () => {
    const prompt = "My name is Tom. ".repeat(256 * 1024);
    const result = await lmc(["--count-tokens", "-"], prompt);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.text).tokens).toBe(await serverCount("lmc-tiny", prompt));
  }, 30_000);
});

describe("--count-tokens in batch mode", () => {
  it("writes one record per item, with its index and id, for each item's model", async () => {
    const input = [
      JSON.stringify({ id: "a", prompt: "My name is" }),
      JSON.stringify({ prompt: long, model: SMALL }),
      JSON.stringify({ id: 7, prompt: "" }),
    ].join("\n");
    const result = await lmc(["--count-tokens", "--each-jsonl", "--no-stats"], input);
    expect(result.code).toBe(1); // the empty prompt failed
    const records = result.text
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(records).toEqual([
      { index: 0, id: "a", tokens: await serverCount("lmc-tiny", "My name is"), contextLength: 2048 },
      { index: 1, tokens: await serverCount(SMALL, long), contextLength: SMALL_CONTEXT },
      { index: 2, id: 7, error: "the prompt is empty", status: 2 },
    ]);
  });
});

describe("a prompt longer than the context", () => {
  it("is refused before it is sent, with both numbers, exit 1", async () => {
    const before = predictions().length;
    const result = await lmc(["-m", SMALL, long]);
    expect(result.code).toBe(1);
    const tokens = await serverCount(SMALL, long);
    expect(result.stderr).toBe(
      `lmc: the prompt is ${tokens} tokens, more than the model's context length ${SMALL_CONTEXT}: shorten it, load the model with a longer --context-length, or let LM Studio cut it (--context-overflow truncate-middle or rolling-window)\n`,
    );
    expect(predictions().length).toBe(before);
  });

  it("is sent as before with --context-overflow truncate-middle or rolling-window, and refused with stop", async () => {
    for (const policy of ["truncate-middle", "rolling-window"]) {
      const before = predictions().length;
      await lmc(["-m", SMALL, "--context-overflow", policy, long]);
      expect(
        predictions()
          .slice(before)
          .map((request) => request.prompt),
      ).toEqual([long]);
    }
    const before = predictions().length;
    expect((await lmc(["-m", SMALL, "--context-overflow", "stop", long])).code).toBe(1);
    expect(predictions().length).toBe(before);
  });

  it("costs a prompt that certainly fits no count", async () => {
    const before = server.rpcCalls.length;
    const result = await lmc(["-m", SMALL, "-n", "1", "--no-stats", "My name is"]);
    expect(result.code).toBe(0);
    expect(server.rpcCalls.slice(before)).not.toContain("llm/countTokens");
  });

  it("is counted when its text could overflow, and sent when it fits", async () => {
    const prompt = "abcdefghij".repeat(6); // 60 bytes: up to 64 tokens, so it might not fit 64
    const before = server.rpcCalls.length;
    const result = await lmc(["-m", SMALL, "-n", "1", "--no-stats", prompt]);
    expect(result.code).toBe(0);
    expect(server.rpcCalls.slice(before)).toContain("llm/countTokens");
  });

  it("fails its item in batch mode, and the other items go on", async () => {
    const before = predictions().length;
    const result = await lmc(["--each", "-m", SMALL, "-n", "1", "--no-stats"], `My name is\n${long}\n`);
    expect(result.code).toBe(1);
    const records = result.text
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(records[0].completion).toEqual(expect.any(String));
    expect(records[1]).toEqual({
      index: 1,
      error: expect.stringMatching(new RegExp(`^the prompt is ${await serverCount(SMALL, long)} tokens, more than the model's context length 64: `)),
      status: 1,
    });
    expect(
      predictions()
        .slice(before)
        .map((request) => request.prompt),
    ).toEqual(["My name is"]);
  });
});
