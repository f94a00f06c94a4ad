// A hostile server must not reach the user's terminal: escape sequences, carriage
// returns and other control characters in its error titles, model names and
// reasoning are shown escaped on stderr (and in --list on a terminal), while the
// completion on stdout stays byte for byte what the model wrote.

import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultCatalog } from "../server/model-catalog.js";
import { startTestServer, type TestServer } from "../server/server.js";
import { cleanEnv, lmcCommand, runLmc } from "./lmc-process.js";

/** Sets the terminal's title, clears the screen, and moves back over the line; plus a C1 CSI. */
const hostile = "\x1b]0;pwned\x07\x1b[2J\rX\u009b31m";
/** Any control character but newline and tab. */
const controls = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

let server: TestServer;
beforeAll(async () => {
  const [tiny, unloaded] = defaultCatalog();
  server = await startTestServer({
    quiet: true,
    models: [
      { ...tiny!, displayName: `Tiny ${hostile}` },
      { ...unloaded!, key: `evil${hostile}`, displayName: `Evil ${hostile}` },
    ],
  });
});
afterAll(() => server?.close());

describe("stderr never carries the server's control characters", () => {
  it("an error title", async () => {
    server.setFault({ type: "predictionError", title: `The model crashed ${hostile}` });
    const result = await runLmc(["--host", server.url, "-m", "lmc-tiny", "hi"]);
    server.setFault({ type: "none" });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^lmc: the prediction failed: The model crashed \\x1b\]0;pwned\\x07\\x1b\[2J X\\x9b31m\n$/);
    expect(result.stderr).not.toMatch(controls);
  });

  it("the model keys listed when a model is not found", async () => {
    const result = await runLmc(["--host", server.url, "-m", "gpt-17", "hi"]);
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/^lmc: model "gpt-17" not found; downloaded models: lmc-tiny, evil\\x1b\]0;pwned/);
    expect(result.stderr).not.toMatch(controls);
  });

  it("a model name in the stats line, which stays the same JSON", async () => {
    const result = await runLmc(["--host", server.url, "-m", "lmc-tiny", "-n", "2", "hi"]);
    expect(result.code).toBe(0);
    expect(result.stderr).not.toMatch(controls);
    expect(JSON.parse(result.stderr).model.displayName).toBe(`Tiny ${hostile}`);
  });

  it("reasoning, with --reasoning; the answer on stdout stays byte-exact", async () => {
    server.setFault({ type: "flood", fragments: 3, text: `think ${hostile}\n`, reasoning: true });
    const reasoning = await runLmc(["--host", server.url, "-m", "lmc-tiny", "--reasoning", "--no-stats", "hi"]);
    server.setFault({ type: "flood", fragments: 3, text: `say ${hostile}\n` });
    const answer = await runLmc(["--host", server.url, "-m", "lmc-tiny", "--no-stats", "hi"]);
    server.setFault({ type: "none" });
    expect(reasoning.code).toBe(0);
    expect(reasoning.stderr).toBe("think \\x1b]0;pwned\\x07\\x1b[2J\\x0dX\\x9b31m\n".repeat(3));
    expect(answer.code).toBe(0);
    expect(answer.text).toBe(`say ${hostile}\n`.repeat(3));
  });

  it("the SDK's log lines, with --verbose", async () => {
    server.setFault({ type: "predictionError", title: `The model crashed ${hostile}` });
    const result = await runLmc(["--host", server.url, "-m", "lmc-tiny", "-v", "hi"]);
    server.setFault({ type: "none" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("pwned");
    expect(result.stderr).not.toMatch(controls);
  });
});

describe("--list on a terminal", () => {
  it("shows the server's names escaped", async () => {
    const command = [...lmcCommand(), "--host", server.url, "--list"].join(" ");
    const child = spawn("script", ["-qec", command, "/dev/null"], { env: cleanEnv(), stdio: ["pipe", "pipe", "pipe"] });
    child.stdin.end();
    let screen = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (screen += chunk));
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(code).toBe(0);
    expect(screen).toContain("Tiny \\x1b]0;pwned\\x07\\x1b[2J X\\x9b31m");
    expect(screen).toContain("evil\\x1b]0;pwned");
    // script(1) itself turns "\n" into "\r\n" on the terminal; nothing else may be a control.
    expect(screen.replace(/\r\n/g, "\n")).not.toMatch(controls);
  });
});

describe("stderr never carries control characters from the user's own input either", () => {
  it("--delimiter mode's line for a failed item names a hostile file name escaped", async () => {
    const name = `missing ${hostile}.txt`;
    const result = await runLmc(["--host", server.url, "-m", "lmc-tiny", "-n", "2", "--each-file", "-d", "\\n", "--no-stats", name]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^lmc: item 0 \(missing \\x1b\]0;pwned\\x07\\x1b\[2J X\\x9b31m\.txt\): cannot read /);
    expect(result.stderr).not.toMatch(controls);
  });
});
