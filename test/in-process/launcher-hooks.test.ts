// What main() does with the launcher's hooks in Io: the steps of a run, marked for its
// timeline (NODE_DEBUG=lmc), and its notes, shown under --verbose only. The launcher's
// side is tested end to end (test/e2e/launcher.test.ts, user-code-cache.test.ts).

import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Io } from "../../src/io.js";
import { main } from "../../src/main.js";
import type { Step } from "../../src/startup/timeline.js";
import { startTestServer, type TestServer } from "../server/server.js";

async function run(argv: string[], { stdin = "", notes = [] as string[] } = {}) {
  const sink = () => Object.assign(new PassThrough(), { isTTY: false }) as unknown as NodeJS.WriteStream & PassThrough;
  const [stdout, stderr] = [sink(), sink()];
  let errors = "";
  stderr.on("data", (chunk: Buffer) => (errors += chunk.toString()));
  stdout.resume();
  const input = new PassThrough();
  input.end(stdin);
  const steps: Step[] = [];
  const io: Io = {
    argv,
    env: {},
    stdin: input as unknown as NodeJS.ReadStream,
    stdout,
    stderr,
    print: async (text) => void stdout.write(text),
    nodeVersion: process.versions.node,
    setV8Flags: () => {},
    umask: 0o022,
    onInterrupt: () => () => {},
    mark: (step) => void steps.push(step),
    tellLauncherNotes: (tell) => notes.forEach(tell),
  };
  const code = await main(io);
  await new Promise((resolve) => setImmediate(resolve));
  return { code, stderr: errors, steps };
}

describe("the launcher's hooks", () => {
  it("shows the launcher's notes under --verbose only, escaped like any line of lmc's", async () => {
    const notes = ["code cache /c/lmc-x.cache not used: V8 rejected it", "a note with \x1b[31m in it"];
    expect((await run(["--version"], { notes })).stderr).toBe("");
    expect((await run(["--version", "--verbose"], { notes })).stderr).toBe(
      "lmc: code cache /c/lmc-x.cache not used: V8 rejected it\nlmc: a note with \\x1b[31m in it\n",
    );
  });

  describe("against the test server", () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer({ quiet: true });
    });
    afterAll(() => server?.close());

    it("marks each step of a completion, the SDK's from the session, in order", async () => {
      const result = await run(["--host", server.url, "-t", "0", "-n", "4", "My name is"]);
      expect(result.code).toBe(0);
      expect(result.steps.filter((step, i) => result.steps.indexOf(step) === i)).toEqual([
        "SDK loaded",
        "client constructed",
        "model found",
        "first fragment",
        "done",
      ]);
    });
  });
});
