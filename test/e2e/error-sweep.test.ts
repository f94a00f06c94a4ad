// Every documented error path, run the same careful way: LM_API_TOKEN set to a
// canary and -o into a directory of its own. Each must end with its documented
// exit status and one line of message (plus the stats or summary line where that
// is documented), and none may show a stack trace, the canary in any form, or a
// control character, or leave a file behind but the output of a run that wrote one.
// (The statuses of signals, 129, 130, 141 and 143, have tests of their own.)

import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { closedPort } from "../closed-port.js";
import { canRunAsAnotherUser, startOtherUsersListener } from "../other-users-listener.js";
import { defaultCatalog } from "../server/model-catalog.js";
import { startTestServer, type Fault, type TestServer } from "../server/server.js";
import { tempDir } from "../temp-dir.js";
import { runLmc } from "./lmc-process.js";

const canaryIdentifier = "CANARY01";
const canaryPasskey = "CanaryPasskey0123456";
const canary = `sk-lm-${canaryIdentifier}:${canaryPasskey}`;
/** The canary in every form it might take: whole, in parts, any case, base64. */
const canaryForms = [canary, canaryIdentifier, canaryPasskey, `${canaryIdentifier}:${canaryPasskey}`]
  .flatMap((form) => [form, Buffer.from(form).toString("base64"), Buffer.from(form).toString("base64url")])
  .map((form) => form.toLowerCase());
/** An escape sequence that retitles the terminal and clears it, and a carriage return. */
const hostile = "\x1b]0;pwned\x07\x1b[2J\r";
const controlCharacter = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

let server: TestServer;
let guarded: TestServer;
beforeAll(async () => {
  const [tiny, unloaded] = defaultCatalog();
  [server, guarded] = await Promise.all([
    // A server that wants no token (the canary is sent all the same), with a hostile model key.
    startTestServer({ quiet: true, models: [tiny!, { ...unloaded!, key: `evil${hostile}` }] }),
    // A server that wants a token other than the canary.
    startTestServer({ quiet: true, requiredToken: { clientIdentifier: "Ab3dEf7h", clientPasskey: "0123456789abcdefghij" } }),
  ]);
});
afterEach(() => server.setFault({ type: "none" }));
afterAll(() => Promise.all([server?.close(), guarded?.close()]));

interface ErrorPath {
  name: string;
  /** The arguments; "OUT" becomes the output file, "DIR" its directory, "HOST" the server's address. */
  args: () => Promise<string[]> | string[];
  status: number;
  input?: string;
  env?: Record<string, string | undefined>;
  fault?: Fault;
  /** The server that wants a token. */
  guarded?: boolean;
  /** Lines on stderr: "lmc: …" messages and JSON stats or summary lines. */
  messages: number;
  jsonLines?: number;
  /** The run writes its output file (a batch whose items failed still does). */
  writesOutput?: boolean;
}

const single =
  (...args: string[]) =>
  () => ["--host", "HOST", "-o", "OUT", ...args];
const batch =
  (...args: string[]) =>
  () => ["--host", "HOST", "-o", "OUT", "-n", "2", ...args];

const paths: ErrorPath[] = [
  { name: "2: an unknown option", args: single("--bogus", "hi"), status: 2, messages: 1 },
  { name: "2: a bad value", args: single("-n", "five", "hi"), status: 2, messages: 1 },
  { name: "2: an empty prompt", args: single(""), status: 2, messages: 1 },
  { name: "2: a model key with a newline", args: single("-m", "lmc\ntiny", "hi"), status: 2, messages: 1 },
  { name: "2: a malformed token", args: single("hi"), env: { LM_API_TOKEN: `sk-lm-${canaryIdentifier}:${canaryPasskey}!` }, status: 2, messages: 1 },
  {
    name: "2: a --schema file that is not JSON (and holds the canary)",
    args: async () => {
      const file = join(tempDir("sweep-input"), "secrets");
      await writeFile(file, `${canaryIdentifier}:${canaryPasskey}\n`);
      return single("--schema", file, "hi")();
    },
    status: 2,
    messages: 1,
  },
  { name: "3: nothing listens there", args: async () => ["--host", `127.0.0.1:${await closedPort()}`, "-o", "OUT", "hi"], status: 3, messages: 1 },
  { name: "3: the server drops the connection", args: single("hi"), fault: { type: "refuse" }, status: 3, messages: 1 },
  { name: "3: wss:// to a plain ws:// server", args: () => ["--host", server.url.replace(/^ws/, "wss"), "-o", "OUT", "hi"], status: 3, messages: 1 },
  { name: "3: no LM Studio on this machine", args: () => ["-o", "OUT", "hi"], env: { LMC_LOCAL_PORTS: "PORT" }, status: 3, messages: 1 },
  // Another user's listener that greets like LM Studio (it takes root to start one as nobody).
  ...(canRunAsAnotherUser
    ? [
        {
          name: "3: only another user's server on this machine",
          args: () => ["-o", "OUT", "hi"],
          env: { LMC_LOCAL_PORTS: "OTHER_USERS_PORT" },
          status: 3,
          messages: 1,
        },
      ]
    : []),
  { name: "3: --list, when the server drops the connection", args: () => ["--host", "HOST", "--list"], fault: { type: "refuse" }, status: 3, messages: 1 },
  { name: "4: no such model (the list holds a hostile key)", args: single("-m", "gpt-17", "hi"), status: 4, messages: 1 },
  { name: "4: no model loaded", args: single("hi"), fault: { type: "nothingLoaded" }, status: 4, messages: 1 },
  {
    name: "1: the prediction fails (a hostile title)",
    args: single("hi"),
    fault: { type: "predictionError", title: `Boom${hostile}` },
    status: 1,
    messages: 1,
  },
  {
    name: "1: the connection is lost mid-stream",
    args: single("-n", "40", "My name is"),
    fault: { type: "dieMidStream", afterFragments: 3 },
    status: 1,
    messages: 1,
  },
  {
    name: "1: the completion passes 16 MiB",
    args: single("hi"),
    fault: { type: "flood", fragments: 8192, text: "x".repeat(4095) + "\n" },
    status: 1,
    messages: 1,
  },
  { name: "1: --output cannot be written", args: () => ["--host", "HOST", "-o", "DIR/missing/out.txt", "hi"], status: 1, messages: 1 },
  { name: "5: cut off, with --fail-on-truncate", args: single("-n", "2", "--fail-on-truncate", "My name is"), status: 5, messages: 1, jsonLines: 1 },
  { name: "6: the token is refused", args: single("hi"), guarded: true, status: 6, messages: 1 },
  { name: "6: a token is required and none is set", args: single("hi"), guarded: true, env: { LM_API_TOKEN: undefined }, status: 6, messages: 1 },
  { name: "124: --timeout runs out", args: single("--timeout", "1", "hi"), fault: { type: "hang" }, status: 124, messages: 1 },
  { name: "1: the prediction ends without its result", args: single("-n", "4", "My name is"), fault: { type: "noResult" }, status: 1, messages: 1 },
  {
    name: "1: a result the SDK refuses (a hostile stopReason)",
    args: single("-n", "4", "My name is"),
    fault: { type: "resultStats", stats: { stopReason: `new${hostile}` } },
    status: 1,
    messages: 1,
  },
  {
    name: '1: "NaN" in the stats',
    args: single("-n", "4", "My name is"),
    fault: { type: "resultStats", stats: { tokensPerSecond: "NaN" } },
    status: 1,
    messages: 1,
  },
  {
    name: "1: a frame that is not UTF-8",
    args: single("-n", "4", "My name is"),
    fault: { type: "badFrame", afterFragments: 1, kind: "utf8" },
    status: 1,
    messages: 1,
  },
  {
    name: "1: a message that is not JSON",
    args: single("-n", "4", "My name is"),
    fault: { type: "badFrame", afterFragments: 1, kind: "json" },
    status: 1,
    messages: 1,
  },
  {
    name: "1: a message of the wrong shape",
    args: single("-n", "4", "My name is"),
    fault: { type: "badFrame", afterFragments: 1, kind: "message" },
    status: 1,
    messages: 1,
  },
  { name: "3: the server says nothing (--idle-timeout)", args: single("--idle-timeout", "1", "hi"), fault: { type: "hang" }, status: 3, messages: 1 },
  {
    name: "3: --list, when the server says nothing (--idle-timeout)",
    args: () => ["--host", "HOST", "--idle-timeout", "1", "--list"],
    fault: { type: "hang" },
    status: 3,
    messages: 1,
  },
  {
    name: "3: the server falls silent mid-stream (--idle-timeout)",
    args: single("--idle-timeout", "1", "-n", "8", "My name is"),
    fault: { type: "stall", afterFragments: 2 },
    status: 3,
    messages: 1,
  },
  {
    name: "batch 1: error records (bad JSON holding the canary, a bad model key, a bad value)",
    args: batch("--each-jsonl"),
    input: [`{"prompt": ${canary}}`, '{"prompt":"a","model":"lmc\\ntiny"}', `{"prompt":"a","maxTokens":"${canary}"}`, '{"prompt":"My name is"}'].join("\n"),
    status: 1,
    messages: 0,
    jsonLines: 1,
    writesOutput: true,
  },
  {
    name: "batch 1: every prediction fails",
    args: batch("--each"),
    input: "a\nb\n",
    fault: { type: "predictionError", title: `Boom${hostile}` },
    status: 1,
    messages: 0,
    jsonLines: 1,
    writesOutput: true,
  },
  {
    name: "batch 1: an item's completion passes 16 MiB",
    args: batch("--each"),
    input: "a\n",
    fault: { type: "flood", fragments: 8192, text: "x".repeat(4095) + "\n" },
    status: 1,
    messages: 0,
    jsonLines: 1,
    writesOutput: true,
  },
  {
    name: "batch 1: items cut off, with --fail-on-truncate",
    args: batch("--each", "--fail-on-truncate"),
    input: "a\nb\n",
    status: 1,
    messages: 0,
    jsonLines: 1,
    writesOutput: true,
  },
  { name: "batch 2: a usage error", args: batch("--each", "--null", "--each-jsonl"), input: "a\n", status: 2, messages: 1 },
  {
    name: "batch 3: nothing listens there",
    args: async () => ["--host", `127.0.0.1:${await closedPort()}`, "-o", "OUT", "--each"],
    input: "a\nb\n",
    status: 3,
    messages: 1,
  },
  { name: "batch 4: no such model", args: batch("--each", "-m", "gpt-17"), input: "a\n", status: 1, messages: 0, jsonLines: 1, writesOutput: true },
  { name: "batch 6: the token is refused", args: batch("--each"), input: "a\nb\n", guarded: true, status: 6, messages: 1 },
  // --timeout is per item in batch mode: the item's record says 124, and the batch goes on.
  {
    name: "batch 1: --timeout runs out for an item",
    args: batch("--each", "--timeout", "1"),
    input: "a\n",
    fault: { type: "hang" },
    status: 1,
    messages: 0,
    jsonLines: 1,
    writesOutput: true,
  },
  {
    name: "batch 1: predictions end without their result",
    args: batch("--each"),
    input: "a\nb\n",
    fault: { type: "noResult" },
    status: 1,
    messages: 0,
    jsonLines: 1,
    writesOutput: true,
  },
  {
    name: "batch 1: results the SDK refuses",
    args: batch("--each"),
    input: "a\nb\n",
    fault: { type: "resultStats", stats: { stopReason: `new${hostile}` } },
    status: 1,
    messages: 0,
    jsonLines: 1,
    writesOutput: true,
  },
  {
    name: "batch 1: a frame that is not UTF-8",
    args: batch("--each"),
    input: "a\nb\n",
    fault: { type: "badFrame", afterFragments: 0, kind: "utf8" },
    status: 1,
    messages: 0,
    jsonLines: 1,
    writesOutput: true,
  },
  {
    name: "batch 3: the only host falls silent",
    args: batch("--each", "--idle-timeout", "1"),
    input: "a\nb\n",
    fault: { type: "hang" },
    status: 3,
    messages: 1,
  },
];

describe("every documented error path: its status, one line of message, and nothing it should not show or leave", () => {
  it.each(paths)("$name", async (path) => {
    const dir = tempDir("sweep");
    const out = join(dir, "out.txt");
    const host = (path.guarded ? guarded : server).url;
    const args = (await path.args()).map((arg) =>
      arg
        .replace(/^OUT$/, out)
        .replace(/^DIR\//, `${dir}/`)
        .replace(/^HOST$/, host),
    );
    const env: Record<string, string | undefined> = { LM_API_TOKEN: canary, ...path.env };
    if (env.LMC_LOCAL_PORTS === "PORT") env.LMC_LOCAL_PORTS = String(await closedPort());
    if (env.LMC_LOCAL_PORTS === "OTHER_USERS_PORT") env.LMC_LOCAL_PORTS = String((await startOtherUsersListener()).port);
    if (path.fault) server.setFault(path.fault);

    const result = await runLmc(args, { env, input: path.input });

    expect(result.code, result.stderr).toBe(path.status);
    const lines = result.stderr.split("\n").filter((line) => line !== "");
    expect(
      lines.filter((line) => line.startsWith("lmc: ")),
      result.stderr,
    ).toHaveLength(path.messages);
    expect(
      lines.filter((line) => line.startsWith("{")),
      result.stderr,
    ).toHaveLength(path.jsonLines ?? 0);
    expect(lines).toHaveLength(path.messages + (path.jsonLines ?? 0));
    expect(result.stderr).not.toMatch(/^\s+at |STACK TRACE|[\u2500-\u257f]/m);
    expect(result.stderr).not.toMatch(controlCharacter);

    const left = await readdir(dir);
    expect(left).toEqual(path.writesOutput ? ["out.txt"] : []);
    if (args.includes("-o")) expect(result.stdout.length).toBe(0);
    const output = path.writesOutput ? await readFile(out, "utf8") : "";
    for (const text of [result.stderr, result.text, output]) {
      for (const form of canaryForms) expect(text.toLowerCase()).not.toContain(form);
    }
  });
});
