// The contract with @lmstudio/sdk. lmc tells the SDK's errors apart by their phrases and
// codes (lmstudio/sdk-errors.ts, and the log lines read in lmstudio/session.ts), and it
// reaches into the SDK's internals (the client port that lmstudio/port-watch.ts watches,
// OngoingPrediction's buffer that session.ts empties). None of it is public API: an
// upgrade may change any of it, and lmc would then quietly say the wrong thing. Run this
// file after upgrading the SDK. Each test brings the real SDK, over real websockets, into
// the situation that makes the error, checks (a) that the SDK still says what lmc reads
// (the failure names the phrase, code or internal) and (b) what lmc makes of it.

import { LMStudioClient } from "@lmstudio/sdk";
import http from "node:http";
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { ConnectionLostError, ExitCode, LmcError, ServerProtocolError } from "../../src/errors.js";
import { modelProblem, requestError, streamError } from "../../src/lmstudio/sdk-errors.js";
import { openSession, type CompletionRequest, type Session } from "../../src/lmstudio/session.js";
import { closedPort } from "../closed-port.js";
import { startTestServer, type TestServer } from "../server/server.js";

let server: TestServer;
let guarded: TestServer;
const token = { clientIdentifier: "Ab3dEf7h", clientPasskey: "0123456789abcdefghij" };
beforeAll(async () => {
  [server, guarded] = await Promise.all([startTestServer({ quiet: true }), startTestServer({ quiet: true, requiredToken: token })]);
});
afterEach(() => server.setFault({ type: "none" }));
afterAll(() => Promise.all([server?.close(), guarded?.close()]));

/** What the SDK logs, as lmc's logger receives it (session.ts reads some of it). */
let logged: string[] = [];
const logger = {
  debug() {},
  info() {},
  warn: (...parts: unknown[]) => logged.push(parts.map(String).join(" ")),
  error: (...parts: unknown[]) => logged.push(parts.map(String).join(" ")),
};
const clients: LMStudioClient[] = [];
afterEach(async () => {
  logged = [];
  // A client with a request still open waits for it before it closes: never for long here.
  await Promise.all(clients.splice(0).map((client) => Promise.race([client[Symbol.asyncDispose]().catch(() => {}), sleep(300)])));
});

function client(url: string, credentials: { clientIdentifier?: string; clientPasskey?: string } = {}): LMStudioClient {
  const made = new LMStudioClient({ baseUrl: url, logger, ...credentials });
  clients.push(made);
  return made;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The error the SDK rejects with. */
async function rejection(promise: Promise<unknown>): Promise<Error & { code?: unknown; title?: unknown }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  throw new Error("the SDK did not fail");
}

/** (a): the SDK's words still hold what lmc looks for. */
function expectSays(text: string, phrase: RegExp, reader: string) {
  expect(text, `the SDK no longer says ${phrase} here, which ${reader} reads: update it`).toMatch(phrase);
}

function expectCode(error: { code?: unknown }, code: string, reader: string) {
  expect(error.code, `the SDK's error no longer carries code ${code}, which ${reader} reads: update it`).toBe(code);
}

/** (b): what lmc makes of it. */
function expectLmcError(error: unknown, kind: abstract new (...args: never[]) => LmcError, exitCode: ExitCode, message: string | RegExp) {
  expect(error).toBeInstanceOf(kind);
  expect((error as LmcError).exitCode).toBe(exitCode);
  if (typeof message === "string") expect((error as LmcError).message).toBe(message);
  else expect((error as LmcError).message).toMatch(message);
}

/** The SDK's client port for the llm namespace, as port-watch.ts sees it: any part of it may be gone. */
interface SdkPort {
  [member: string]: unknown;
  transport?: { status?: unknown };
}
const portOf = (of: LMStudioClient) => (of.llm as unknown as { port?: SdkPort }).port;
const transportStatus = (of: LMStudioClient) => portOf(of)?.transport?.status;

async function until(condition: () => boolean, what: string) {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 3000) throw new Error(`waited 3 s for ${what}`);
    await sleep(10);
  }
}

/** A prediction through lmc's session, and the error it ends with (undefined: none). */
async function lmcPredictionError(session: Session, request: Partial<CompletionRequest> = {}): Promise<unknown> {
  try {
    const prediction = await session.complete({
      prompt: "My name is",
      stopStrings: [],
      prediction: { maxTokens: 6, temperature: 0 },
      load: {},
      signal: AbortSignal.timeout(10_000),
      ...request,
    });
    for await (const _ of prediction.fragments);
    await prediction.outcome;
  } catch (error) {
    return error;
  }
  return undefined;
}

const sessions: Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => Promise.race([session.close(), sleep(300)])));
});
function lmcSession(host: string): { session: Session; log: string[] } {
  const log: string[] = [];
  const session = openSession({ host, log: (_, message) => log.push(message), notice: (message) => log.push(message) });
  sessions.push(session);
  return { session, log };
}

describe("the model asked for (session.ts: exit 4)", () => {
  it('a key that is not downloaded: "Cannot find a model with path"', async () => {
    const error = await rejection(client(server.url).llm.model("gpt-17"));
    expectSays(error.message, /Cannot find a model with path/, "modelProblem");
    expect(modelProblem(error)).toBe("notFound");
    const failed = await lmcPredictionError(lmcSession(server.url).session, { model: "gpt-17" });
    expectLmcError(failed, LmcError, ExitCode.modelNotFound, 'model "gpt-17" not found; downloaded models: lmc-tiny, lmc-tiny-unloaded');
  });

  it('none named, and none loaded: "No loaded model satisfies"', async () => {
    server.setFault({ type: "nothingLoaded" });
    const error = await rejection(client(server.url).llm.model());
    expectSays(error.message, /No loaded model satisfies/, "modelProblem");
    expect(modelProblem(error)).toBe("nothingLoaded");
    const failed = await lmcPredictionError(lmcSession(server.url).session);
    expectLmcError(
      failed,
      LmcError,
      ExitCode.modelNotFound,
      /^no model is loaded in LM Studio: load one, or name one with --model or LMC_MODEL; downloaded models: /,
    );
  });
});

describe("before the prediction: requestError", () => {
  const cannotReach = (host: string, why: string) => `cannot reach LM Studio at ${host} (${why}): start its server`;

  it("nothing listens there: code ECONNREFUSED (exit 3)", async () => {
    const host = `ws://127.0.0.1:${await closedPort()}`;
    const error = await rejection(client(host).llm.model());
    expectCode(error, "ECONNREFUSED", "connectionError");
    expectLmcError(requestError(error, host, false), LmcError, ExitCode.unreachable, new RegExp(`^${escape(cannotReach(host, "ECONNREFUSED"))}`));
  });

  // RFC 6761: a name under .invalid never resolves, and resolvers answer so at once.
  it("a name that does not resolve: code ENOTFOUND, its own message (exit 3)", async () => {
    const host = "ws://lm-studio.invalid:1234";
    const error = await rejection(client(host).llm.model());
    expectCode(error, "ENOTFOUND", "connectionError");
    expectLmcError(
      requestError(error, host, false),
      LmcError,
      ExitCode.unreachable,
      /^cannot resolve host lm-studio\.invalid \(ENOTFOUND: no such name\): check the name given to --host or LMC_HOST$/,
    );
  });

  it('the server drops the connection: code ECONNRESET, "socket hang up" (exit 3)', async () => {
    server.setFault({ type: "refuse" });
    const error = await rejection(client(server.url).llm.model());
    expectCode(error, "ECONNRESET", "connectionError");
    expectSays(error.message, /socket hang up/, "lostConnection");
    expectLmcError(requestError(error, server.url, false), LmcError, ExitCode.unreachable, new RegExp(`^${escape(cannotReach(server.url, "ECONNRESET"))}`));
  });

  it('an HTTP server that is not LM Studio: "Unexpected server response" (exit 3)', async () => {
    const other = http.createServer((_, response) => response.end("hello"));
    const host = `ws://127.0.0.1:${await listen(other)}`;
    try {
      const error = await rejection(client(host).llm.model());
      expectSays(error.message, /Unexpected server response/, "connectionError");
      expectLmcError(
        requestError(error, host, false),
        LmcError,
        ExitCode.unreachable,
        new RegExp(`^${escape(cannotReach(host, "Unexpected server response: 200"))}`),
      );
    } finally {
      other.close();
    }
  });

  // ws's "WebSocket was closed before the connection was established", which lmc once
  // looked for too, never reaches it: SDK 1.5 closes a socket only once it has given up
  // on it, and ignores what the socket says after. The nearest case, a websocket server
  // that is not LM Studio, ends in the SDK's own words.
  it('a websocket server that is not LM Studio and hangs up: "WebSocket connection closed", not ws\'s "WebSocket was closed"', async () => {
    const other = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    other.on("connection", (socket) => socket.close());
    await new Promise((resolve) => other.once("listening", resolve));
    try {
      const error = await rejection(client(`ws://127.0.0.1:${(other.address() as { port: number }).port}`).llm.model());
      expectSays(error.message, /^WebSocket connection closed$/, "lostConnection");
      expect(error.message).not.toMatch(/WebSocket was closed/);
    } finally {
      other.close();
    }
  });

  it('wss:// to a plain ws:// server: code EPROTO, OpenSSL\'s "SSL routines" (exit 3)', async () => {
    const host = server.url.replace(/^ws:/, "wss:");
    const error = await rejection(client(host).llm.model());
    expectCode(error, "EPROTO", "connectionError");
    expectSays(error.message, /SSL routines/, "connectionError");
    // lmc knows it by either: each must still work alone.
    const byCode = Object.assign(new Error("write EPROTO"), { code: error.code });
    const byMessage = new Error(error.message);
    for (const one of [error, byCode, byMessage]) {
      expectLmcError(
        requestError(one, host, false),
        LmcError,
        ExitCode.unreachable,
        `cannot reach LM Studio at ${host} (TLS handshake failed: is the server plain ws://?)`,
      );
    }
  });

  it('a token refused: "Failed to authenticate" (exit 6)', async () => {
    const error = await rejection(client(guarded.url, { ...token, clientPasskey: "zzzzzzzzzzzzzzzzzzzz" }).llm.model());
    expectSays(error.message, /^Failed to authenticate: /, "authenticationError");
    expectLmcError(
      requestError(error, guarded.url, true),
      LmcError,
      ExitCode.unauthorized,
      `LM Studio at ${guarded.url} refused the API token in LM_API_TOKEN (Invalid client identifier or passkey)`,
    );
  });

  it('a token required and none sent: "Failed to authenticate" (exit 6)', async () => {
    const error = await rejection(client(guarded.url).llm.model());
    expectSays(error.message, /^Failed to authenticate: /, "authenticationError");
    expectLmcError(
      requestError(error, guarded.url, false),
      LmcError,
      ExitCode.unauthorized,
      `LM Studio at ${guarded.url} requires an API token (Invalid client identifier or passkey): set LM_API_TOKEN to one made in LM Studio`,
    );
  });
});

describe("while the prediction streams: streamError", () => {
  it('the connection dropped mid-prediction: "WebSocket connection closed" (exit 1)', async () => {
    const model = await client(server.url).llm.model("lmc-tiny");
    server.setFault({ type: "dieMidStream", afterFragments: 2 });
    const error = await rejection(model.complete("My name is", { maxTokens: 20 }));
    expectSays(error.message, /WebSocket connection closed/, "lostConnection");
    expectLmcError(streamError(error, server.url), ConnectionLostError, ExitCode.failed, `the connection to LM Studio at ${server.url} was lost mid-stream`);
  });

  it('the server drops the next prediction\'s connection: "socket hang up" (exit 1)', async () => {
    const sdk = client(server.url);
    const model = await sdk.llm.model("lmc-tiny");
    server.setFault({ type: "refuse" });
    await until(() => transportStatus(sdk) !== "CONNECTED", "the SDK to see the connection go");
    const error = await rejection(model.complete("My name is", { maxTokens: 2 }));
    expectSays(error.message, /socket hang up/, "lostConnection");
    expectLmcError(streamError(error, server.url), ConnectionLostError, ExitCode.failed, `the connection to LM Studio at ${server.url} was lost mid-stream`);
  });

  it('the server resets the next prediction\'s connection: "ECONNRESET" in the message (exit 1)', async () => {
    const relay = await relayTo(server.port);
    try {
      const sdk = client(relay.url);
      const model = await sdk.llm.model("lmc-tiny");
      relay.reset();
      await until(() => transportStatus(sdk) !== "CONNECTED", "the SDK to see the connection go");
      const error = await rejection(model.complete("My name is", { maxTokens: 2 }));
      expectSays(error.message, /ECONNRESET/, "lostConnection");
      expectLmcError(streamError(error, relay.url), ConnectionLostError, ExitCode.failed, `the connection to LM Studio at ${relay.url} was lost mid-stream`);
    } finally {
      relay.close();
    }
  });

  it("the server gone before the next prediction: code ECONNREFUSED (exit 3)", async () => {
    const relay = await relayTo(server.port);
    try {
      const sdk = client(relay.url);
      const model = await sdk.llm.model("lmc-tiny");
      relay.close();
      await until(() => transportStatus(sdk) !== "CONNECTED", "the SDK to see the connection go");
      const error = await rejection(model.complete("My name is", { maxTokens: 2 }));
      expectCode(error, "ECONNREFUSED", "connectionError");
      expectLmcError(
        streamError(error, relay.url),
        LmcError,
        ExitCode.unreachable,
        new RegExp(`^cannot reach LM Studio at ${escape(relay.url)} \\(ECONNREFUSED\\)`),
      );
    } finally {
      relay.close();
    }
  });

  it("a text frame that is not UTF-8: ws's code WS_ERR_INVALID_UTF8 (exit 1)", async () => {
    const model = await client(server.url).llm.model("lmc-tiny");
    server.setFault({ type: "badFrame", afterFragments: 1, kind: "utf8" });
    const error = await rejection(model.complete("My name is", { maxTokens: 6 }));
    expectCode(error, "WS_ERR_INVALID_UTF8", "protocolError");
    expectLmcError(streamError(error, server.url), ServerProtocolError, ExitCode.failed, `LM Studio at ${server.url} sent a frame that is not valid UTF-8`);
  });

  it("a frame with a reserved opcode: ws's code WS_ERR_INVALID_OPCODE (exit 1)", async () => {
    const model = await client(server.url).llm.model("lmc-tiny");
    server.setFault({ type: "badFrame", afterFragments: 1, kind: "opcode" });
    const error = await rejection(model.complete("My name is", { maxTokens: 6 }));
    expectCode(error, "WS_ERR_INVALID_OPCODE", "protocolError (any code starting WS_ERR_)");
    expectLmcError(
      streamError(error, server.url),
      ServerProtocolError,
      ExitCode.failed,
      `LM Studio at ${server.url} broke the websocket protocol (WS_ERR_INVALID_OPCODE: Invalid WebSocket frame: invalid opcode 3)`,
    );
  });

  it("a prediction error with a title: the error's `title`, LM Studio's words (exit 1)", async () => {
    const model = await client(server.url).llm.model("lmc-tiny");
    // A code the SDK words itself: its message is the SDK's sentence, the title LM Studio's.
    const title = "The model was unloaded while it predicted";
    server.setFault({ type: "predictionError", title, code: "generic.specificModelUnloaded" });
    const error = await rejection(model.complete("My name is", { maxTokens: 6 }));
    expect(error.title, "the SDK's error no longer carries `title`, which streamError reads: update it").toBe(title);
    expect(error.message).not.toContain(title);
    expectLmcError(streamError(error, server.url), LmcError, ExitCode.failed, `the prediction failed: ${title}`);
  });

  it("a prediction error without a code: the first paragraph of the SDK's box (exit 1)", async () => {
    const model = await client(server.url).llm.model("lmc-tiny");
    server.setFault({ type: "predictionError", title: "Boom: the engine fell over", suggestion: "try again" });
    const error = await rejection(model.complete("My name is", { maxTokens: 6 }));
    expectSays(error.message, /Boom: the engine fell over/, "streamError");
    expectLmcError(streamError(error, server.url), LmcError, ExitCode.failed, "the prediction failed: Boom: the engine fell over");
  });
});

describe("what the SDK only logs (session.ts's logger) or does not notice (port-watch.ts)", () => {
  it('a message that is not JSON: "Received invalid JSON message from server" (exit 1)', async () => {
    const model = await client(server.url).llm.model("lmc-tiny");
    server.setFault({ type: "badFrame", afterFragments: 1, kind: "json" });
    await model.complete("My name is", { maxTokens: 6 });
    expectSays(logged.join("\n"), /Received invalid JSON message from server/, "session.ts's sdkLogger");
    const { session, log } = lmcSession(server.url);
    const failed = await lmcPredictionError(session);
    expect(log.join("\n")).toMatch(/Received invalid JSON message from server/);
    expectLmcError(failed, ServerProtocolError, ExitCode.failed, `LM Studio at ${server.url} sent a message that is not JSON`);
  });

  it('a message of a type the protocol does not have: "Received invalid message from server" (exit 1)', async () => {
    const model = await client(server.url).llm.model("lmc-tiny");
    server.setFault({ type: "badFrame", afterFragments: 1, kind: "unknown" });
    await model.complete("My name is", { maxTokens: 6 });
    expectSays(logged.join("\n"), /Received invalid message from server/, "session.ts's sdkLogger");
    const failed = await lmcPredictionError(lmcSession(server.url).session);
    expectLmcError(failed, ServerProtocolError, ExitCode.failed, `LM Studio at ${server.url} sent a message that lmc cannot read`);
  });

  it('a result the SDK refuses: the port\'s communicationWarning, its "- message." lines (exit 1)', async () => {
    server.setFault({ type: "resultStats", stats: { stopReason: "newReason" } });
    const warned = server.warnings.length;
    const failed = await lmcPredictionError(lmcSession(server.url).session);
    // The SDK tells the server too: awaited, so that it arrives while the fault is still set.
    await until(() => server.warnings.length > warned, "the SDK's warning to reach the server");
    expectLmcError(
      failed,
      ServerProtocolError,
      ExitCode.failed,
      `LM Studio at ${server.url} sent a result that lmc cannot read (stats.stopReason: Invalid enum value, received 'newReason')`,
    );
  });

  it("a prediction channel closed without a result: the channel's onClose (exit 1)", async () => {
    server.setFault({ type: "noResult" });
    const failed = await lmcPredictionError(lmcSession(server.url).session);
    expectLmcError(failed, ServerProtocolError, ExitCode.failed, `LM Studio at ${server.url} ended the prediction without its result`);
  });
});

describe("the SDK's internals lmc reaches into", () => {
  it("the llm client port (port-watch.ts): its methods, its open channels and its transport's status", async () => {
    const sdk = client(server.url);
    const port = portOf(sdk);
    if (port === undefined) throw new Error("client.llm.port, which port-watch.ts watches, is gone");
    for (const method of ["createChannel", "receivedChannelSend", "communicationWarning"]) {
      expect(typeof port[method], `client.llm.port.${method}, which port-watch.ts wraps, is gone`).toBe("function");
    }
    expect(port.openChannels, "client.llm.port.openChannels, a Map port-watch.ts reads, is gone").toBeInstanceOf(Map);
    const openChannels = port.openChannels as Map<unknown, { channel?: { onClose?: { subscribe?: unknown } } }>;
    expect(transportStatus(sdk), "client.llm.port.transport.status, which connected() reads").toBe("DISCONNECTED");
    const model = await sdk.llm.model("lmc-tiny");
    expect(transportStatus(sdk), 'client.llm.port.transport.status is no longer "CONNECTED" once connected').toBe("CONNECTED");
    let channel: { onClose?: { subscribe?: unknown } } | undefined;
    await model.complete("My name is", { maxTokens: 3, onFirstToken: () => (channel = [...openChannels.values()][0]?.channel) });
    expect(typeof channel?.onClose?.subscribe, "an open channel's onClose.subscribe, which port-watch.ts uses, is gone").toBe("function");
  });

  it("session.connected() follows the transport", async () => {
    const { session } = lmcSession(server.url);
    expect(session.connected()).toBe(false);
    expect(await lmcPredictionError(session)).toBeUndefined();
    expect(session.connected()).toBe(true);
  });

  it("OngoingPrediction's private buffer (session.ts empties it): an array that onPredictionFragment runs just before it keeps the fragment", async () => {
    const model = await client(server.url).llm.model("lmc-tiny");
    const keptBefore: number[] = [];
    const kept = () => (ongoing as unknown as { buffer?: unknown[] }).buffer;
    const ongoing = model.complete("My name is", { maxTokens: 5, temperature: 0, onPredictionFragment: () => keptBefore.push(kept()?.length ?? -1) });
    expect(Array.isArray(kept()), "OngoingPrediction's buffer, which session.ts empties to free memory, is gone").toBe(true);
    await ongoing;
    expect(keptBefore.length).toBeGreaterThan(1);
    expect(keptBefore, "onPredictionFragment no longer runs just before the fragment is kept in the buffer").toEqual(keptBefore.map((_, i) => i));
    expect(kept()).toHaveLength(keptBefore.length);
  });

  it("the llm namespace's createDomainSpecificModel (session.ts keeps each instance's context length from it): called with the instance's info", async () => {
    const sdk = client(server.url);
    const namespace = sdk.llm as unknown as { createDomainSpecificModel?: (port: unknown, info: unknown, ...rest: unknown[]) => unknown };
    const make = namespace.createDomainSpecificModel;
    expect(typeof make, "client.llm.createDomainSpecificModel, which session.ts wraps for the overflow check, is gone").toBe("function");
    const infos: unknown[] = [];
    namespace.createDomainSpecificModel = function (port, info, ...rest) {
      infos.push(info);
      return make?.call(this, port, info, ...rest);
    };
    const model = await sdk.llm.model("lmc-tiny");
    expect(infos, "createDomainSpecificModel is no longer called when a model is found").toHaveLength(1);
    expect(
      (infos[0] as { contextLength?: unknown }).contextLength,
      "the instance info handed to createDomainSpecificModel no longer carries contextLength",
    ).toBe(await model.getContextLength());
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

async function listen(listener: Server | http.Server): Promise<number> {
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  return (listener.address() as { port: number }).port;
}

/**
 * A relay to the test server that a test can cut: reset() answers every connection,
 * open ones too, with a TCP reset; close() stops listening, as a server that went away.
 */
async function relayTo(port: number) {
  const sockets = new Set<Socket>();
  let resetting = false;
  const relay = createServer((socket) => {
    if (resetting) return void socket.resetAndDestroy();
    const upstream = connect(port, "127.0.0.1");
    for (const end of [socket, upstream]) {
      sockets.add(end);
      end.on("error", () => {});
      end.on("close", () => sockets.delete(end));
    }
    socket.pipe(upstream).pipe(socket);
  });
  const url = `ws://127.0.0.1:${await listen(relay)}`;
  return {
    url,
    reset() {
      resetting = true;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    close() {
      relay.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}
