// lmc --list: what LM Studio has downloaded, and what is loaded.

import { execFileSync } from "node:child_process";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { hostileCatalog, hostileKeys } from "../server/hostile-models.js";
import { startTestServer, type TestServer } from "../server/server.js";
import { runLmc } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterEach(() => server.setFault({ type: "none" }));
afterAll(() => server?.close());

it("gives the keys only, one per line, in a pipe", async () => {
  const result = await runLmc(["--host", server.url, "--list"], { stdin: "open" });
  expect(result.code).toBe(0);
  expect(result.stderr).toBe("");
  expect(result.text).toBe("lmc-tiny\nlmc-tiny-unloaded\n");
});

it("writes a key with a newline or control character escaped: one key per line, which printf %b gives back", async () => {
  const hostile = await startTestServer({ quiet: true, models: hostileCatalog() });
  try {
    const result = await runLmc(["--host", hostile.url, "--list"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect(result.text).toContain("f new\\nline\n");
    // What a `while read` loop sees, decoded as the man page says, in hex (a key may hold a NUL).
    const decoded = execFileSync("bash", ["-c", `while IFS= read -r line; do printf %b "$line" | od -An -tx1 | tr -d ' \\n'; echo; done`], {
      input: result.stdout,
      encoding: "utf8",
    });
    expect(decoded.split("\n").slice(0, -1)).toEqual(["lmc-tiny", ...hostileKeys].map((key) => Buffer.from(key).toString("hex")));
  } finally {
    await hostile.close();
  }
});

it("gives one JSON array with --json", async () => {
  const result = await runLmc(["--host", server.url, "--list", "--json"]);
  expect(result.code).toBe(0);
  expect(JSON.parse(result.text)).toEqual([
    expect.objectContaining({ key: "lmc-tiny", loaded: true, identifiers: ["lmc-tiny"] }),
    expect.objectContaining({ key: "lmc-tiny-unloaded", loaded: false, identifiers: [] }),
  ]);
});

it("shows a model loaded just in time as loaded", async () => {
  await runLmc(["--host", server.url, "-m", "lmc-tiny-unloaded", "-n", "1", "hi"]);
  const result = await runLmc(["--host", server.url, "--list", "--json"]);
  expect(JSON.parse(result.text)[1]).toMatchObject({ key: "lmc-tiny-unloaded", loaded: true });
});

it("takes LMC_HOST and reports an unreachable server like a completion does", async () => {
  server.setFault({ type: "refuse" });
  const result = await runLmc(["--list"], { env: { LMC_HOST: server.url } });
  expect(result.code).toBe(3);
  expect(result.stdout.length).toBe(0);
  expect(result.stderr).toMatch(/^lmc: cannot reach LM Studio at /);
});

it("gives up at --timeout", async () => {
  server.setFault({ type: "hang" });
  const result = await runLmc(["--host", server.url, "--list", "--timeout", "0.5"]);
  expect(result.code).toBe(124);
});
