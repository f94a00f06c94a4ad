// Finding the local LM Studio trusts only a listener of the user's own, or root's:
// another user's process that greets like LM Studio on a port lmc looks at gets the
// greeting request and nothing more (no websocket, so no API token and no prompt).
// --host stays the user's explicit choice. LMC_LOCAL_PORTS sets the ports looked at.

import { afterAll, beforeAll, expect, it } from "vitest";
import { canRunAsAnotherUser, NOBODY, startOtherUsersListener } from "../other-users-listener.js";
import { startTestServer, type TestServer } from "../server/server.js";
import { DEFAULT_PORT, withDefaultPort } from "./default-port.js";
import { expectOneErrorLine } from "./error-line.js";
import { runLmc } from "./lmc-process.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ quiet: true });
});
afterAll(() => server?.close());

const greetingOnly = [{ url: "/lmstudio-greeting", upgrade: null }];

it.skipIf(!canRunAsAnotherUser)("skips another user's listener on an earlier port, says why under --verbose, and uses the user's own", async () => {
  const other = await startOtherUsersListener();
  const own = new URL(server.url).port;
  const result = await runLmc(["-v", "-n", "2", "hi"], {
    env: { LMC_LOCAL_PORTS: `${other.port},${own}`, LM_API_TOKEN: "sk-lm-abcdefgh:01234567890123456789" },
  });
  expect(result.code).toBe(0);
  expect(result.stderr).toContain(
    `lmc: not using ws://127.0.0.1:${other.port}: it answers as LM Studio, but its socket belongs to uid ${NOBODY}, not to you (uid 0) or root\n`,
  );
  expect(result.stderr).toContain(`lmc: using LM Studio at ws://127.0.0.1:${own}\n`);
  expect(other.requests).toEqual(greetingOnly);
});

it.skipIf(!canRunAsAnotherUser)("finds no LM Studio when only another user's listener answers: exit 3, saying so", async () => {
  const other = await startOtherUsersListener();
  const result = await runLmc(["hi"], { env: { LMC_LOCAL_PORTS: String(other.port) } });
  expect(result.code).toBe(3);
  expectOneErrorLine(
    result,
    new RegExp(
      `^lmc: cannot find LM Studio on this machine \\(tried 127.0.0.1 ports ${other.port}; ${other.port} is another user's server, not trusted\\): .*--host / LMC_HOST$`,
    ),
  );
  expect(other.requests).toEqual(greetingOnly);
});

it.skipIf(!canRunAsAnotherUser)("goes where --host says, whoever listens there", async () => {
  const other = await startOtherUsersListener();
  const result = await runLmc(["--host", `ws://127.0.0.1:${other.port}`, "hi"]);
  expect(result.code).toBe(3);
  expect(other.requests.some((request) => request.upgrade === "websocket")).toBe(true);
});

// Where plain lmc looks first, as a user meets it: nobody's listener on 1234 while
// LM Studio is down. Skipped when 1234 is taken (LM Studio itself, maybe).
it.skipIf(!canRunAsAnotherUser)("skips another user's listener on LM Studio's own port, 1234", (context) =>
  withDefaultPort(async () => {
    const other = await startOtherUsersListener(DEFAULT_PORT).catch(() => undefined);
    if (!other) return context.skip();
    const result = await runLmc(["--list"], { env: { LM_API_TOKEN: "sk-lm-abcdefgh:01234567890123456789" } });
    expect(result.code).toBe(3);
    expectOneErrorLine(
      result,
      new RegExp(
        `^lmc: cannot find LM Studio on this machine \\(tried 127.0.0.1 ports ${DEFAULT_PORT}, .*; ${DEFAULT_PORT} is another user's server, not trusted\\)`,
      ),
    );
    expect(other.requests).toEqual(greetingOnly);
  }),
);
