import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { findLocalServer, greetingUrl } from "../../src/lmstudio/discovery.js";
import { listenerOwners, readTcpTables } from "../../src/lmstudio/socket-owners.js";
import { canRunAsAnotherUser, NOBODY, startOtherUsersListener } from "../other-users-listener.js";

it("greetingUrl", () => {
  expect(greetingUrl("ws://127.0.0.1:5")).toBe("http://127.0.0.1:5/lmstudio-greeting");
  expect(greetingUrl("wss://h:443")).toBe("https://h:443/lmstudio-greeting");
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
    // The silent one costs the whole wait; the greeting must fit in it on a loaded machine too.
    expect(await findLocalServer([closedPort, impostor, silent, lmStudio], 2000)).toEqual({ url: `ws://127.0.0.1:${lmStudio}`, untrusted: [] });
  });
  it("finds none, quickly, when nothing greets", async () => {
    const started = Date.now();
    expect(await findLocalServer([closedPort, impostor, silent], 300)).toEqual({ untrusted: [] });
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe("findLocalServer trusts only a server whose listening socket is the user's own or root's", () => {
  const greet = (_req: unknown, res: import("node:http").ServerResponse) => res.end(JSON.stringify({ lmstudio: true }));
  const ownServer = async () => {
    const server = createServer(greet);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => void server.close());
    return (server.address() as AddressInfo).port;
  };

  it.skipIf(!canRunAsAnotherUser)("skips another user's listener that greets first, for the user's own after it", async () => {
    const other = await startOtherUsersListener();
    const own = await ownServer();
    expect(await findLocalServer([other.port, own], 2000)).toEqual({
      url: `ws://127.0.0.1:${own}`,
      untrusted: [{ url: `ws://127.0.0.1:${other.port}`, owners: [NOBODY] }],
    });
    expect(await findLocalServer([other.port], 2000)).toEqual({ untrusted: [{ url: `ws://127.0.0.1:${other.port}`, owners: [NOBODY] }] });
    expect(other.requests).toEqual([
      { url: "/lmstudio-greeting", upgrade: null },
      { url: "/lmstudio-greeting", upgrade: null },
    ]);
  });

  it.skipIf(process.platform !== "linux")("reads the owner of the user's own listener from the kernel", async () => {
    const own = await ownServer();
    expect(listenerOwners((await readTcpTables())!, own, "127.0.0.1")).toEqual([process.geteuid!()]);
  });

  it("trusts the first that answers where the owners cannot be known (no /proc/net)", async () => {
    const own = await ownServer();
    expect(await findLocalServer([own], 2000, "127.0.0.1", async () => undefined)).toEqual({ url: `ws://127.0.0.1:${own}`, untrusted: [], unchecked: true });
  });

  it("skips a server when no listening socket is found for it", async () => {
    const own = await ownServer();
    const search = await findLocalServer([own], 2000, "127.0.0.1", async () => ({ tcp: "header\n", tcp6: "header\n" }));
    expect(search).toEqual({ untrusted: [{ url: `ws://127.0.0.1:${own}`, owners: [] }] });
  });
});

describe("listenerOwners", () => {
  const header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
  const row = (address: string, port: number, state: string, uid: number) =>
    `   0: ${address}:${port.toString(16).toUpperCase().padStart(4, "0")} 00000000:0000 ${state} 00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 1 1 0 100 0 0 10 0\n`;
  // As a little-endian machine prints them: each 32-bit word of the address as a number.
  const littleEndian = {
    tcp:
      header +
      row("0100007F", 1234, "0A", 1000) + // 127.0.0.1
      row("00000000", 1235, "0A", 0) + // 0.0.0.0
      row("0501A8C0", 1236, "0A", 1001) + // 192.168.1.5
      row("0100007F", 1237, "01", 1002) + // an established connection, not a listener
      row("0100007F", 1237, "0A", 1000),
    tcp6:
      header +
      row("00000000000000000000000000000000", 1238, "0A", 1003) + // ::
      row("00000000000000000000000001000000", 1239, "0A", 1004) + // ::1
      row("0000000000000000FFFF00000100007F", 1240, "0A", 1005), // ::ffff:127.0.0.1
  };
  const bigEndian = {
    tcp: header + row("7F000001", 1234, "0A", 1000),
    tcp6: header + row("00000000000000000000000000000001", 1239, "0A", 1004) + row("00000000000000000000FFFF7F000001", 1240, "0A", 1005),
  };

  it.each<[number, string, number[]]>([
    [1234, "127.0.0.1", [1000]],
    [1235, "127.0.0.1", [0]],
    [1236, "127.0.0.1", []],
    [1237, "127.0.0.1", [1000]],
    [1238, "127.0.0.1", [1003]],
    [1239, "127.0.0.1", []],
    [1240, "127.0.0.1", [1005]],
    [1241, "127.0.0.1", []],
    [1238, "::1", [1003]],
    [1239, "[::1]", [1004]],
    [1234, "::1", []],
    [1236, "localhost", [1001]],
  ])("port %i for %s: %j", (port, hostname, owners) => {
    expect(listenerOwners(littleEndian, port, hostname, true)).toEqual(owners);
  });

  it("reads a big-endian machine's table too", () => {
    expect(listenerOwners(bigEndian, 1234, "127.0.0.1", false)).toEqual([1000]);
    expect(listenerOwners(bigEndian, 1239, "::1", false)).toEqual([1004]);
    expect(listenerOwners(bigEndian, 1240, "127.0.0.1", false)).toEqual([1005]);
  });

  it("takes a table that could not be read as holding nothing", () => {
    expect(listenerOwners({ tcp6: littleEndian.tcp6 }, 1238, "127.0.0.1", true)).toEqual([1003]);
  });
});
