import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { normalizeHost } from "../../src/command-line/host-address.js";
import { findLocalServer, greetingUrl } from "../../src/lmstudio/discovery.js";

describe("normalizeHost", () => {
  it.each([
    ["ws://127.0.0.1:1234", "ws://127.0.0.1:1234"],
    ["ws://127.0.0.1:1234/", "ws://127.0.0.1:1234"],
    ["wss://lm.example:443", "wss://lm.example"],
    ["http://localhost:1234", "ws://localhost:1234"],
    ["https://lm.example:8443/", "wss://lm.example:8443"],
    ["localhost:1234", "ws://localhost:1234"],
    ["1234", "ws://127.0.0.1:1234"],
    [" [::1]:1234 ", "ws://[::1]:1234"],
  ])("%s → %s", (input, expected) => expect(normalizeHost(input)).toBe(expected));

  it.each([
    ["ftp://x:1", /must be a ws:\/\//],
    ["ws://u:p@h:1", /just scheme, host and port/],
    ["ws://h:1/llm", /just scheme, host and port/],
    ["ws://h:1?x=1", /just scheme, host and port/],
    ["ws://h:99999", /not a valid address/],
    ["", /not a valid address/],
  ])("refuses %j", (input, message) => {
    expect(() => normalizeHost(input)).toThrow(UsageError);
    expect(() => normalizeHost(input)).toThrow(message);
  });

  it("greetingUrl", () => {
    expect(greetingUrl("ws://127.0.0.1:5")).toBe("http://127.0.0.1:5/lmstudio-greeting");
    expect(greetingUrl("wss://h")).toBe("https://h/lmstudio-greeting");
  });
});

describe("findLocalServer", () => {
  const servers: Server[] = [];
  const listen = async (handler: Parameters<typeof createServer>[1]) => {
    const server = createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  };
  let lmStudio = 0;
  let impostor = 0;
  let silent = 0;
  let closedPort = 0;
  beforeAll(async () => {
    lmStudio = await listen((req, res) => {
      res.writeHead(req.url === "/lmstudio-greeting" ? 200 : 404, { "content-type": "application/json" });
      res.end(JSON.stringify({ lmstudio: true }));
    });
    impostor = await listen((_req, res) => res.end(JSON.stringify({ hello: "world" })));
    silent = await listen(() => {}); // accepts, never answers
    closedPort = await listen(() => {});
    await new Promise((resolve) => servers.pop()!.close(resolve));
  });
  afterAll(() => servers.forEach((s) => (s.closeAllConnections(), s.close())));

  it("finds the port that greets like LM Studio", async () => {
    expect(await findLocalServer([closedPort, impostor, silent, lmStudio], 300)).toBe(`ws://127.0.0.1:${lmStudio}`);
  });
  it("answers undefined, quickly, when nothing greets", async () => {
    const started = Date.now();
    expect(await findLocalServer([closedPort, impostor, silent], 300)).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
