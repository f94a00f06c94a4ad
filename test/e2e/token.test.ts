// A server that requires an API token: LM_API_TOKEN right, wrong, missing and malformed.

import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../server/server.js";
import { runLmc } from "./lmc-process.js";

const identifier = "Ab3dEf7h";
const passkey = "0123456789abcdefghij";
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true, requiredToken: { clientIdentifier: identifier, clientPasskey: passkey } });
});
afterAll(() => server?.close());

const lmc = (token?: string) => runLmc(["--host", server.url, "-n", "3", "hi"], { env: { LM_API_TOKEN: token } });

it("completes with the right token", async () => {
  const result = await lmc(`sk-lm-${identifier}:${passkey}`);
  expect(result.code).toBe(0);
  expect(result.text.length).toBeGreaterThan(0);
});

it("exits 6 with a clear line when the token is refused, without printing it", async () => {
  const wrong = "zzzzzzzzzzzzzzzzzzzz";
  const result = await lmc(`sk-lm-${identifier}:${wrong}`);
  expect(result.code).toBe(6);
  expect(result.stdout.length).toBe(0);
  expect(result.stderr).toMatch(/^lmc: LM Studio at ws:\/\/127.0.0.1:\d+ refused the API token in LM_API_TOKEN \(.+\)\n$/);
  expect(result.stderr).not.toContain(wrong);
});

it("exits 6 and asks for a token when none is set", async () => {
  const result = await lmc(undefined);
  expect(result.code).toBe(6);
  expect(result.stderr).toMatch(/^lmc: LM Studio at .* requires an API token .*set LM_API_TOKEN/);
});

it("refuses a malformed token before connecting (exit 2), without printing it", async () => {
  const before = server.received.length;
  const result = await lmc("not-a-token-secret");
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/^lmc: LM_API_TOKEN does not look like an LM Studio API token/);
  expect(result.stderr).not.toContain("not-a-token-secret");
  expect(server.received.length).toBe(before);
});
