// Every knob reaches LM Studio under the key LM Studio reads, and does what it says.

import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { lmcCommand, runLmc, statsOf } from "./lmc-process.js";
import { tempDir } from "../temp-dir.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterEach(() => expect(server.warnings).toEqual([]));
afterAll(() => server?.close());

const lastPrediction = () => server.received.filter((r) => r.channel !== "getOrLoad").at(-1)!;
const lmc = (...args: string[]) => runLmc(["--host", server.url, "-n", "3", ...args, "My name is"]);

describe("prediction settings reach the server", () => {
  it.each<[string[], Record<string, unknown>]>([
    [["--top-k", "7"], { "llm.prediction.topKSampling": 7 }],
    [["--top-p", "0.9"], { "llm.prediction.topPSampling": { checked: true, value: 0.9 } }],
    [["--top-p", "off"], { "llm.prediction.topPSampling": { checked: false, value: 0.95 } }],
    [["--min-p", "0.1"], { "llm.prediction.minPSampling": { checked: true, value: 0.1 } }],
    [["--repeat-penalty", "1.3"], { "llm.prediction.repeatPenalty": { checked: true, value: 1.3 } }],
    [["--seed", "42"], { "llm.prediction.seed": { checked: true, value: 42 } }],
    [["--context-overflow", "truncate-middle"], { "llm.prediction.contextOverflowPolicy": "truncateMiddle" }],
    [["--draft-model", "lmc-tiny"], { "llm.prediction.speculativeDecoding.draftModel": "lmc-tiny" }],
    [["--option", "cpuThreads=2"], { "llm.prediction.llama.cpuThreads": 2 }],
    [
      ["--option", "xtcProbability=0.5", "--option", "xtcThreshold=0.1"],
      {
        "llm.prediction.llama.xtcProbability": { checked: true, value: 0.5 },
        "llm.prediction.llama.xtcThreshold": { checked: true, value: 0.1 },
      },
    ],
    [["--option", "logProbs=off"], { "llm.prediction.logProbs": { checked: false, value: 0 } }],
    [["--option", "speculativeDecodingNumDraftTokensExact=3"], { "llm.prediction.speculativeDecoding.numDraftTokensExact": 3 }],
    [["--option", "topKSampling=5", "--top-k", "9"], { "llm.prediction.topKSampling": 9 }],
    [["-n", "off", "--stop", "."], { "llm.prediction.maxPredictedTokens": { checked: false, value: 1 } }],
  ])("%j", async (args, expected) => {
    const result = await lmc(...args);
    expect(result.stderr).not.toMatch(/^lmc:/m);
    expect(result.code).toBe(0);
    expect(lastPrediction().config).toMatchObject(expected);
  });

  it("refuses an unknown --option key before sending anything, naming the known ones", async () => {
    const before = server.received.length;
    const result = await lmc("--option", "temprature=1");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^lmc: --option temprature: unknown setting "temprature"; known: temperature, /);
    expect(server.received.length).toBe(before);
  });
});

describe("load settings", () => {
  it("go with a just-in-time load", async () => {
    const result = await runLmc([
      "--host",
      server.url,
      "-m",
      "lmc-tiny-unloaded",
      "-n",
      "3",
      "--context-length",
      "512",
      "--gpu",
      "off",
      "--seed",
      "7",
      "--ttl",
      "60",
      "hi",
    ]);
    expect(result.code).toBe(0);
    const load = server.received.filter((r) => r.channel === "getOrLoad").at(-1)!;
    expect(load.loadConfig).toMatchObject({
      "llm.load.contextLength": 512,
      "llm.load.llama.acceleration.offloadRatio": "off",
      "llm.load.seed": { checked: true, value: 7 },
    });
  });

  it("a fixed seed repeats a sampled completion; another seed changes it", async () => {
    const sampled = (seed: string) => runLmc(["--host", server.url, "-m", "lmc-tiny", "-t", "1", "-n", "30", "--seed", seed, "My name is"]);
    const [a, b, c] = await Promise.all([sampled("1"), sampled("1"), sampled("2")]);
    expect(a.text).toBe(b.text);
    expect(a.text).not.toBe(c.text);
  });
});

describe("load settings for a model already loaded", () => {
  // A server of their own: which models are loaded is what these tests are about.
  let own: TestServer;
  beforeAll(async () => {
    own = await startTestServer({ quiet: true });
  });
  afterEach(() => expect(own.warnings).toEqual([]));
  afterAll(() => own?.close());
  const run = (args: string[], input?: string) => runLmc(["--host", own.url, "-n", "2", ...args, ...(input === undefined ? ["hi"] : [])], { input });
  const notes = (stderr: string) => stderr.split("\n").filter((line) => line.startsWith("lmc: "));

  it("says in one line that --context-length did not apply, and what to do; the run goes on", async () => {
    const result = await run(["-m", "lmc-tiny", "--context-length", "8192"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stderr.trim().split("\n").at(-1)!).predictedTokensCount).toBe(2);
    expect(notes(result.stderr)).toEqual([
      "lmc: lmc-tiny is already loaded with context length 2048; --context-length 8192 applies when lmc loads it: " +
        "unload it in LM Studio or with `lms unload lmc-tiny`, then run again",
    ]);
  });

  it("says nothing when the loaded model has the context length asked", async () => {
    const result = await run(["-m", "lmc-tiny", "--context-length", "2048"]);
    expect(result.code).toBe(0);
    expect(notes(result.stderr)).toEqual([]);
  });

  it("costs nothing when none of them is given: no call but the lookup", async () => {
    own.rpcCalls.length = 0;
    const result = await run(["-m", "lmc-tiny"]);
    expect(result.code).toBe(0);
    expect(own.rpcCalls).toEqual([]);
    await run(["-m", "lmc-tiny", "--context-length", "8192"]);
    expect(own.rpcCalls).toEqual(["llm/listLoaded", "llm/getModelInfo"]);
  });

  it("says --ttl and --gpu, which lmc cannot check, and without --model names the model to give", async () => {
    const result = await run(["--ttl", "60", "--gpu", "max"]);
    expect(result.code).toBe(0);
    expect(notes(result.stderr)).toEqual([
      "lmc: lmc-tiny is already loaded (lmc cannot tell its idle TTL or GPU offload); --ttl 60 and --gpu max apply when lmc loads it: " +
        "unload it in LM Studio or with `lms unload lmc-tiny`, then run again with --model lmc-tiny",
    ]);
  });

  it("goes on without a word when LM Studio does not say what is loaded, after waiting 2 s at most", async () => {
    own.setFault({ type: "unansweredRpc", endpoints: ["listLoaded"] });
    try {
      const result = await run(["-m", "lmc-tiny", "--context-length", "8192"]);
      expect(result.code).toBe(0);
      expect(notes(result.stderr)).toEqual([]);
      expect(result.elapsedMs).toBeLessThan(10_000);
    } finally {
      own.setFault({ type: "none" });
    }
  });

  it("says nothing when lmc loads the model itself, and once per model in a batch", async () => {
    const loads = await run(["-m", "lmc-tiny-unloaded", "--context-length", "512", "--ttl", "60"]);
    expect(loads.code).toBe(0);
    expect(notes(loads.stderr)).toEqual([]);
    const batch = await run(["-m", "lmc-tiny-unloaded", "--context-length", "1024", "--each", "-P", "2"], "a\nb\nc\nd\n");
    expect(batch.code).toBe(0);
    expect(notes(batch.stderr)).toEqual([
      "lmc: lmc-tiny-unloaded is already loaded with context length 512; --context-length 1024 applies when lmc loads it: " +
        "unload it in LM Studio or with `lms unload lmc-tiny-unloaded`, then run again",
    ]);
  });
});

describe("--schema", () => {
  const schema = { type: "object", properties: { name: { type: "string" }, age: { type: "number" } }, required: ["name", "age"] };

  it("makes the completion valid JSON (inline schema)", async () => {
    const result = await runLmc(["--host", server.url, "-t", "0", "-n", "300", "--schema", JSON.stringify(schema), "Describe a person:"]);
    expect(result.code).toBe(0);
    const value = JSON.parse(result.text);
    expect(typeof value.name).toBe("string");
    expect(typeof value.age).toBe("number");
    expect(lastPrediction().config["llm.prediction.structured"]).toEqual({ type: "json", jsonSchema: schema });
  });

  it("reads the schema from a file", async () => {
    const file = join(tempDir("settings"), "person.json");
    await writeFile(file, JSON.stringify(schema));
    const result = await runLmc(["--host", server.url, "-t", "0", "-n", "300", "--schema", file, "Describe a person:"]);
    expect(result.code).toBe(0);
    expect(Object.keys(JSON.parse(result.text)).sort()).toEqual(["age", "name"]);
  });

  it("exits 5 when --max-tokens cut the JSON off, as --fail-on-truncate would; -o is then not written", async () => {
    const dir = tempDir("settings");
    const cut = ["--host", server.url, "-t", "0", "-n", "5", "--schema", JSON.stringify(schema)];
    const streamed = await runLmc([...cut, "Describe a person:"]);
    expect(streamed.code).toBe(5);
    expect(() => JSON.parse(streamed.text)).toThrow();
    const lines = streamed.stderr.split("\n").filter(Boolean);
    expect(JSON.parse(lines[0]!).stopReason).toBe("maxPredictedTokensReached");
    expect(lines.slice(1)).toEqual(["lmc: the completion was cut off (maxPredictedTokensReached), so it is not the whole JSON --schema asks for"]);
    const toFile = await runLmc([...cut, "-o", join(dir, "person.json"), "Describe a person:"]);
    expect(toFile.code).toBe(5);
    expect(await readdir(dir)).toEqual([]);
    const buffered = await runLmc([...cut, "--no-stream", "Describe a person:"]);
    expect(buffered.code).toBe(5);
    expect(buffered.stdout.length).toBe(0);
  });

  it("is refused in batch mode, whose items cannot carry it, rather than dropped", async () => {
    const result = await runLmc(["--host", server.url, "--each", "--schema", JSON.stringify(schema)], { input: "Describe a person:\n" });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("lmc: --schema goes with a single completion, not batch mode (see lmc --help)\n");
  });

  it.each([
    [["--schema", "{oops"], /--schema: the argument is not valid JSON/],
    [["--schema", "/nonexistent/schema.json"], /--schema: cannot read \/nonexistent\/schema.json/],
  ])("refuses %j with exit 2", async (args, message) => {
    const result = await lmc(...args);
    expect(result.code).toBe(2);
    expect(result.stdout.length).toBe(0);
    expect(result.stderr).toMatch(message);
  });
});

describe("--echo", () => {
  it("writes the prompt, then the completion", async () => {
    const plain = await runLmc(["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "10", "My name is"]);
    const echoed = await runLmc(["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "10", "--echo", "My name is"]);
    expect(echoed.code).toBe(0);
    expect(echoed.text).toBe(`My name is${plain.text}`);
  });
});

describe("--stop's escapes", () => {
  // Sampled with this seed, "My name is" goes on for a line, then another: the model's
  // greedy text has no newline.
  const sampled = ["-t", "1", "--seed", "3", "-n", "100"];
  const firstLine = async () => {
    const whole = await runLmc(["--host", server.url, ...sampled, "My name is"]);
    expect(whole.text).toMatch(/^[^\n]+\n/);
    return whole.text.split("\n")[0];
  };

  it("--stop '\\n' stops at the end of the line, as a Makefile (whose /bin/sh has no $'\\n') writes it", async () => {
    const dir = tempDir("settings");
    const lmcWords = lmcCommand()
      .map((word) => `'${word}'`)
      .join(" ");
    await writeFile(join(dir, "Makefile"), `line.txt:\n\t${lmcWords} --host ${server.url} ${sampled.join(" ")} --stop '\\n' -o $@ "My name is"\n`);
    await promisify(execFile)("make", ["-s", "-C", dir], { env: { PATH: process.env.PATH } });
    expect(lastPrediction().config["llm.prediction.stopStrings"]).toEqual(["\n"]);
    expect(await readFile(join(dir, "line.txt"), "utf8")).toBe(await firstLine());
  });

  it("a JSON Lines stop reads them too, and a real newline in it still works", async () => {
    const item = (stop: unknown) => JSON.stringify({ prompt: "My name is", temperature: 1, maxTokens: 100, stop });
    const input = [item("\\n"), item(["\n"]), item("\\q")].join("\n");
    const result = await runLmc(["--host", server.url, "--seed", "3", "--each-jsonl", "-P", "1"], { input });
    const records = result.text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    const line = await firstLine();
    expect(records.slice(0, 2).map((record) => record.completion)).toEqual([line, line]);
    expect(records[2]).toMatchObject({ index: 2, status: 2, error: expect.stringMatching(/^line 3: "stop" has an unknown escape \\q/) });
    expect(result.code).toBe(1);
  });
});

describe("--fail-on-truncate", () => {
  it("exits 5 when --max-tokens cut the completion off, keeping what streamed", async () => {
    const result = await runLmc(["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "3", "--fail-on-truncate", "My name is"]);
    expect(result.code).toBe(5);
    expect(result.text.length).toBeGreaterThan(0);
    const lines = result.stderr.split("\n").filter(Boolean);
    expect(JSON.parse(lines[0]!).stopReason).toBe("maxPredictedTokensReached");
    expect(lines[1]).toMatch(/^lmc: the completion was cut off \(maxPredictedTokensReached; --fail-on-truncate\)$/);
  });

  it("exits 0 when the completion ended by itself", async () => {
    const result = await runLmc(["--host", server.url, "-m", "lmc-tiny", "-t", "0", "-n", "40", "--stop", ".", "--fail-on-truncate", "My name is"]);
    expect(result.code).toBe(0);
    expect(statsOf(result).stopReason).toBe("stopStringFound");
  });

  it("does not write --output when the completion was cut off", async () => {
    const dir = tempDir("settings");
    const result = await runLmc(["--host", server.url, "-t", "0", "-n", "3", "--fail-on-truncate", "-o", join(dir, "out.txt"), "My name is"]);
    expect(result.code).toBe(5);
    expect(await readdir(dir)).toEqual([]);
  });
});
