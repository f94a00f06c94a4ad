// An LM Studio-compatible test server: speaks the websocket protocol of @lmstudio/sdk
// (1.5 `predict`, 2.x `completeRawText`) and runs a real tiny GGUF model through the
// Engine interface (engine.ts, node-llama-cpp). See protocol.ts for the message shapes
// and README.md beside it for what it serves.

import http from "node:http";
import type { Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { WebSocketServer, WebSocket, type RawData } from "ws";
import type { CompletionResult, Engine, LoadedModel } from "./engine-types.js";
import {
  type ClientMessage,
  type ModelQuery,
  type SerializedError,
  errorFromException,
  fragmentPacket,
  chatMessagesFromHistory,
  identifierNotFoundError,
  isAuthFrame,
  LoadKeys,
  makeError,
  mergeKVStack,
  noModelMatchingQueryError,
  parseClientMessage,
  pathNotFoundError,
  noPromptTemplateError,
  promptFromHistory,
  promptProgressPacket,
  ProtocolShapeError,
  promptTemplateOptions,
  promptTemplateRenderError,
  samplingFromConfig,
  specificModelUnloadedError,
} from "./protocol.js";
import { NoPromptTemplateError, PromptTemplateRenderError } from "./prompt-template.js";
import { type CatalogEntry, type LlmInstanceInfo, type ResolvedEntry, defaultCatalog, resolveEntry } from "./model-catalog.js";

export type { CatalogEntry } from "./model-catalog.js";

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

export type Fault =
  /** Normal operation. */
  | { type: "none" }
  /** Every TCP connection is destroyed as soon as it is accepted (existing ones too). */
  | { type: "refuse" }
  /** After `afterFragments` fragments of a prediction were sent, every socket is destroyed. */
  | { type: "dieMidStream"; afterFragments: number }
  /** The handshake succeeds, then no rpc or channel is ever answered. */
  | { type: "hang" }
  /** These rpc endpoints (listLoaded, getModelInfo…) are never answered; the rest are. */
  | { type: "unansweredRpc"; endpoints: string[] }
  /**
   * predict/completeRawText answer with a channelError shaped like LM Studio's errors; with
   * `code`, one that the SDK words itself (its displayData.code), keeping the title apart.
   */
  | { type: "predictionError"; title?: string; cause?: string; suggestion?: string; code?: "generic.specificModelUnloaded" }
  /** Sleep `delayMs` before each fragment. */
  | { type: "slow"; delayMs: number }
  /**
   * Predictions skip the model: `fragments` fragments of `text` (default "word "), one token
   * each, as fast as the client reads them, then success with maxPredictedTokensReached.
   * For measuring a client's relay throughput; a cancel ends it with userStopped. With
   * `reasoning`, the fragments are labelled as a reasoning model's reasoning.
   */
  | { type: "flood"; fragments: number; text?: string; reasoning?: boolean }
  /**
   * No model appears loaded: getModelInfo fails with generic.noModelMatchingQuery and
   * listLoaded is empty; getOrLoad of a key goes through the JIT-loading sequence.
   */
  | { type: "nothingLoaded" }
  // Hostile answers, for lmc's checks of what a server says (see the fault modes in README.md beside this file).
  /** Predictions stream their fragments, then the channel is closed without a result. */
  | { type: "noResult" }
  /** After `afterFragments` fragments, a prediction says nothing more and its channel stays open. */
  | { type: "stall"; afterFragments: number }
  /**
   * The result's stats with these fields replaced, as sent: a stopReason the SDK does not
   * know, "NaN", or numbers no model produces (-5, 1e300, a total that is not the sum).
   */
  | { type: "resultStats"; stats: Record<string, unknown> }
  /**
   * After `afterFragments` fragments, one frame that is `utf8`: a text frame that is not
   * UTF-8, `json`: text that is not JSON, `message`: a fragment message of the wrong shape,
   * `unknown`: a message of a type the protocol does not have, or `opcode`: a websocket
   * frame with a reserved opcode; then the prediction goes on as usual.
   */
  | { type: "badFrame"; afterFragments: number; kind: "utf8" | "json" | "message" | "unknown" | "opcode" };

export interface TestServerOptions {
  host?: string;
  /** Default 0: an ephemeral port. */
  port?: number;
  fault?: Fault;
  /** Default: lmc-tiny (loaded) and lmc-tiny-unloaded, both build/tiny-model.gguf. */
  models?: CatalogEntry[];
  /** When set, the handshake must carry exactly these credentials. */
  requiredToken?: { clientIdentifier: string; clientPasskey: string };
  /** Predictions that may run at once on each loaded model (default 4). */
  parallel?: number;
  /** Loading a model on demand takes this much longer (a slow disk): for tests of waits on a load. */
  loadDelayMs?: number;
  /** Loading a model on demand waits for this too: a slow disk that the test says when to finish. */
  loadGate?: Promise<void>;
  /** No informational logging on stderr (communication warnings are always logged). */
  quiet?: boolean;
  /**
   * Act as a reasoning model: the first sentence of every completion is sent as
   * reasoning, between <think> and </think> tag fragments, as LM Studio labels a
   * reasoning model's output; the rest is the answer.
   */
  reasoning?: boolean;
}

export interface ReceivedRequest {
  channel: "predict" | "completeRawText" | "getOrLoad";
  /** The model key the request resolved to ("" when it did not resolve). */
  modelKey: string;
  /** Predictions: the instance identifier. getOrLoad: the identifier the client asked for. */
  identifier: string;
  /** The prompt as the model sees it ("" for getOrLoad). */
  prompt: string;
  /** Merged prediction config KV fields, by key (later layers win); {} for getOrLoad. */
  config: Record<string, unknown>;
  /** getOrLoad: merged load config KV fields. Predictions: the config the instance was JIT-loaded with. */
  loadConfig?: Record<string, unknown>;
  /** Predictions, and getOrLoad channels that start a load: whether the client sent a cancel. */
  cancelled?: boolean;
  /** getOrLoad: the idle time after which the client asked for the model to be unloaded. */
  loadTtlMs?: unknown;
}

export interface TestServer {
  /** ws://HOST:PORT, the baseUrl for LMStudioClient / `lmc --host`. */
  url: string;
  /** http://HOST:PORT */
  httpUrl: string;
  port: number;
  received: ReceivedRequest[];
  /** Every rpc call, as "namespace/endpoint" (llm/listLoaded), in the order they came. */
  rpcCalls: string[];
  /** Every communicationWarning a client sent, plus protocol problems the server noticed. */
  warnings: unknown[];
  setFault(f: Fault): void;
  close(): Promise<void>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const server = new TestServerImpl(options);
  try {
    await server.start();
  } catch (error) {
    await server.close().catch(() => undefined);
    throw error;
  }
  return server;
}

// ---------------------------------------------------------------------------
// The engine: one per process
// ---------------------------------------------------------------------------

let enginePromise: Promise<Engine> | undefined;

/** The process-wide inference engine (created on first use). */
export function getSharedEngine(): Promise<Engine> {
  if (enginePromise === undefined) {
    const p = import("./engine.js").then((m) => m.createEngine());
    p.catch(() => {
      if (enginePromise === p) enginePromise = undefined;
    });
    enginePromise = p;
  }
  return enginePromise;
}

/** Closes the process-wide engine (for a clean exit of main.ts; servers must be closed first). */
export async function closeSharedEngine(): Promise<void> {
  const p = enginePromise;
  enginePromise = undefined;
  if (p !== undefined) await (await p).close();
}

// ---------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------

const NAMESPACES = new Set(["llm", "system", "embedding", "diagnostics", "files", "repository", "plugins", "runtime"]);
const DEFAULT_PREDICTION_ERROR_TITLE = "The model has crashed without additional information. (Exit code: null)";

class ProtocolFailure extends Error {
  constructor(readonly error: SerializedError) {
    super(error.title);
  }
}

class Slots {
  private queue: Array<() => void> = [];
  constructor(private free: number) {}
  acquire(signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.free > 0) {
      this.free--;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = () => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      };
      const onAbort = () => {
        const i = this.queue.indexOf(grant);
        if (i >= 0) this.queue.splice(i, 1);
        resolve(false);
      };
      this.queue.push(grant);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }
  release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.free++;
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

function finite(n: number | undefined): number {
  return typeof n === "number" && Number.isFinite(n) ? n : 0;
}

interface Instance {
  entry: ResolvedEntry;
  identifier: string;
  instanceReference: string;
  model: LoadedModel;
  loadConfig: Record<string, unknown>;
  lastUsedTime: number | null;
  slots: Slots;
}

interface ChannelState {
  endpoint: string;
  abort: AbortController;
  /** Set once channelClose or channelError went out. */
  ended: boolean;
  onMessage?: (message: unknown) => void;
}

interface Conn {
  ws: WebSocket;
  namespace: string;
  channels: Map<number, ChannelState>;
}

interface PendingLoad {
  promise: Promise<Instance | null>;
  waiters: number;
}

class TestServerImpl implements TestServer {
  url = "";
  httpUrl = "";
  port = 0;
  received: ReceivedRequest[] = [];
  rpcCalls: string[] = [];
  warnings: unknown[] = [];

  private fault: Fault;
  private readonly quiet: boolean;
  private readonly parallel: number;
  private readonly http: http.Server;
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<Socket>();
  private readonly conns = new Set<Conn>();
  private engine: Engine | undefined;
  private catalog: ResolvedEntry[] = [];
  /** Loaded instances by instanceReference, in load order. */
  private readonly instances = new Map<string, Instance>();
  private readonly pendingLoads = new Map<string, PendingLoad>();
  private readonly inflight = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: TestServerOptions) {
    this.fault = options.fault ?? { type: "none" };
    this.quiet = options.quiet ?? false;
    this.parallel = Math.max(1, options.parallel ?? 4);
    this.http = http.createServer((req, res) => this.onHttpRequest(req, res));
    this.wss = new WebSocketServer({ noServer: true });
    this.http.on("connection", (socket: Socket) => {
      if (this.fault.type === "refuse" || this.closing) {
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
    this.http.on("upgrade", (req, socket: Socket, head) => this.onUpgrade(req, socket, head));
  }

  // --- lifecycle -----------------------------------------------------------

  async start(): Promise<void> {
    // The port first: a port that is taken fails at once, before any model is loaded
    // (test/server/main.ts then tries another, and would otherwise load the model twice).
    // Nobody knows the address until start() resolves, so no client comes in between.
    await new Promise<void>((resolve, reject) => {
      this.http.once("error", reject);
      this.http.listen(this.options.port ?? 0, this.options.host ?? "127.0.0.1", () => {
        this.http.off("error", reject);
        resolve();
      });
    });
    const address = this.http.address();
    if (address === null || typeof address === "string") throw new Error("unexpected server address");
    this.port = address.port;
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    this.url = `ws://${host}:${this.port}`;
    this.httpUrl = `http://${host}:${this.port}`;
    const entries = this.options.models ?? defaultCatalog();
    const [engine, catalog] = await Promise.all([getSharedEngine(), Promise.all(entries.map(resolveEntry))]);
    this.engine = engine;
    this.catalog = catalog;
    await Promise.all(
      catalog
        .filter((e) => e.loaded)
        .map(async (e) => {
          const loadConfig: Record<string, unknown> = e.contextLength !== undefined ? { [LoadKeys.contextLength]: e.contextLength } : {};
          this.register(await this.loadInstance(e, e.identifier, loadConfig));
        }),
    );
    this.log(`listening on ${this.url}`);
  }

  setFault(fault: Fault): void {
    this.fault = fault;
    this.log(`fault: ${JSON.stringify(fault)}`);
    if (fault.type === "refuse") this.destroyAllSockets();
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.destroyAllSockets();
      await new Promise<void>((resolve) => this.wss.close(() => resolve()));
      await new Promise<void>((resolve) => this.http.close(() => resolve()));
      // Predictions and loads end once their sockets are gone (their signals abort).
      await Promise.allSettled([...this.inflight]);
      await Promise.allSettled([...this.pendingLoads.values()].map((p) => p.promise));
      const instances = [...this.instances.values()];
      this.instances.clear();
      await Promise.allSettled(instances.map((i) => i.model.unload()));
      this.log("closed");
    })();
    return this.closing;
  }

  private destroyAllSockets(): void {
    for (const conn of this.conns) conn.ws.terminate();
    for (const socket of this.sockets) socket.destroy();
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
    return p;
  }

  private log(message: string): void {
    if (!this.quiet) process.stderr.write(`[lmc-test-server] ${message}\n`);
  }

  private warn(warning: Record<string, unknown>): void {
    this.warnings.push(warning);
    // Under a hostile fault the client is meant to complain: recorded, not shouted.
    if (["resultStats", "badFrame"].includes(this.fault.type)) return this.log(`communication warning: ${JSON.stringify(warning)}`);
    process.stderr.write(`\n[lmc-test-server] !!! COMMUNICATION WARNING !!!\n${JSON.stringify(warning, null, 2)}\n\n`);
  }

  // --- http / upgrade ------------------------------------------------------

  private onHttpRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (req.method === "GET" && url.pathname === "/lmstudio-greeting") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ lmstudio: true }));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: `Unexpected endpoint or method. (${req.method} ${url.pathname})` }));
  }

  private onUpgrade(req: http.IncomingMessage, socket: Socket, head: Buffer): void {
    if (this.fault.type === "refuse" || this.closing) {
      socket.destroy();
      return;
    }
    const namespace = new URL(req.url ?? "/", "http://localhost").pathname.replace(/^\//, "");
    if (!NAMESPACES.has(namespace)) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, namespace));
  }

  private onConnection(ws: WebSocket, namespace: string): void {
    const conn: Conn = { ws, namespace, channels: new Map() };
    this.conns.add(conn);
    ws.on("error", () => undefined);
    ws.on("close", () => {
      this.conns.delete(conn);
      for (const ch of conn.channels.values()) ch.abort.abort();
      conn.channels.clear();
    });
    ws.once("message", (data) => {
      let frame: unknown;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        frame = undefined;
      }
      if (!isAuthFrame(frame)) {
        this.send(conn, { success: false, error: "Invalid authentication packet" });
        ws.close();
        return;
      }
      const required = this.options.requiredToken;
      if (required !== undefined && (frame.clientIdentifier !== required.clientIdentifier || frame.clientPasskey !== required.clientPasskey)) {
        this.send(conn, { success: false, error: "Invalid client identifier or passkey" });
        ws.close();
        return;
      }
      this.send(conn, { success: true });
      ws.on("message", (raw) => this.onMessage(conn, raw));
    });
  }

  // --- framing -------------------------------------------------------------

  private send(conn: Conn, message: unknown): void {
    if (conn.ws.readyState === WebSocket.OPEN) conn.ws.send(JSON.stringify(message));
  }

  private channelSend(conn: Conn, channelId: number, ch: ChannelState, message: unknown): void {
    if (!ch.ended) this.send(conn, { type: "channelSend", channelId, message });
  }

  private channelClose(conn: Conn, channelId: number, ch: ChannelState): void {
    if (ch.ended) return;
    ch.ended = true;
    conn.channels.delete(channelId);
    this.send(conn, { type: "channelClose", channelId });
  }

  private channelError(conn: Conn, channelId: number, ch: ChannelState, error: SerializedError): void {
    if (ch.ended) return;
    ch.ended = true;
    conn.channels.delete(channelId);
    this.send(conn, { type: "channelError", channelId, error });
  }

  private onMessage(conn: Conn, raw: RawData): void {
    let data: unknown;
    try {
      data = JSON.parse(raw.toString());
    } catch {
      this.warn({ source: "server", namespace: conn.namespace, problem: "invalid JSON from client", raw: raw.toString() });
      return;
    }
    const message = parseClientMessage(data);
    if (typeof message === "string") {
      this.warn({ source: "server", namespace: conn.namespace, problem: message, message: data });
      return;
    }
    if (message.type === "communicationWarning") {
      this.warn({ source: "client", namespace: conn.namespace, warning: message.warning });
      return;
    }
    if (message.type === "keepAlive") {
      this.send(conn, { type: "keepAliveAck" });
      return;
    }
    if (this.fault.type === "hang") return;
    this.dispatch(conn, message);
  }

  private dispatch(conn: Conn, message: ClientMessage): void {
    switch (message.type) {
      case "rpcCall":
        void this.track(this.handleRpc(conn, message.endpoint, message.callId, message.parameter));
        return;
      case "channelCreate":
        this.handleChannelCreate(conn, message.endpoint, message.channelId, message.creationParameter);
        return;
      case "channelSend": {
        const ch = conn.channels.get(message.channelId);
        if (ch === undefined) return; // e.g. a cancel racing the channel's end
        ch.onMessage?.(message.message);
        if (message.ackId !== undefined) {
          this.send(conn, { type: "channelAck", channelId: message.channelId, ackId: message.ackId });
        }
        return;
      }
      case "channelAck":
        return;
      case "signalSubscribe":
        this.send(conn, {
          type: "signalError",
          subscribeId: message.subscribeId,
          error: makeError(`The test server has no signal endpoint "${message.endpoint}"`),
        });
        return;
      case "writableSignalSubscribe":
        this.send(conn, {
          type: "writableSignalError",
          subscribeId: message.subscribeId,
          error: makeError(`The test server has no writable signal endpoint "${message.endpoint}"`),
        });
        return;
      default:
        return;
    }
  }

  // --- model bookkeeping -------------------------------------------------------

  private visibleInstances(): Instance[] {
    return this.fault.type === "nothingLoaded" ? [] : [...this.instances.values()];
  }

  private instanceInfo(instance: Instance): LlmInstanceInfo {
    return {
      ...instance.entry.info,
      identifier: instance.identifier,
      instanceReference: instance.instanceReference,
      ttlMs: null,
      lastUsedTime: instance.lastUsedTime,
      contextLength: instance.model.contextLength,
    };
  }

  private matchesQuery(instance: Instance, query: ModelQuery): boolean {
    if (query.domain !== undefined && query.domain !== "llm") return false;
    if (query.vision === true) return false;
    if (query.identifier !== undefined && query.identifier !== instance.identifier) return false;
    if (query.path !== undefined) {
      const p = query.path;
      const info = instance.entry.info;
      if (p !== info.path && p !== info.modelKey && p !== info.indexedModelIdentifier && p !== instance.entry.file) return false;
    }
    return true;
  }

  private resolveSpecifier(specifier: unknown): Instance {
    const s = specifier as { type?: string; instanceReference?: string; query?: ModelQuery } | undefined;
    if (s?.type === "instanceReference") {
      const instance = this.instances.get(String(s.instanceReference));
      if (instance === undefined) throw new ProtocolFailure(specificModelUnloadedError());
      return instance;
    }
    const query = s?.query ?? {};
    const visible = this.visibleInstances();
    const found = visible.find((i) => this.matchesQuery(i, query));
    if (found === undefined) {
      throw new ProtocolFailure(
        noModelMatchingQueryError(
          query,
          visible.map((i) => i.identifier),
        ),
      );
    }
    return found;
  }

  private findEntry(identifier: string): ResolvedEntry | undefined {
    return this.catalog.find((e) => e.key === identifier || e.info.path === identifier || e.info.indexedModelIdentifier === identifier);
  }

  private async loadInstance(entry: ResolvedEntry, identifier: string, loadConfig: Record<string, unknown>): Promise<Instance> {
    const engine = this.engine;
    if (engine === undefined) throw new Error("engine not ready");
    const requested = loadConfig[LoadKeys.contextLength];
    const contextLength = typeof requested === "number" && Number.isInteger(requested) && requested > 0 ? requested : entry.contextLength;
    const model = await engine.load(entry.file, {
      ...(contextLength !== undefined ? { contextLength } : {}),
      parallel: this.parallel,
    });
    return {
      entry,
      identifier,
      instanceReference: randomBytes(18).toString("base64"),
      model,
      loadConfig,
      lastUsedTime: null,
      slots: new Slots(this.parallel),
    };
  }

  private register(instance: Instance): void {
    this.instances.set(instance.instanceReference, instance);
    this.log(`loaded ${instance.entry.key} as "${instance.identifier}" (context ${instance.model.contextLength})`);
  }

  private uniqueIdentifier(base: string): string {
    const taken = new Set([...this.instances.values()].map((i) => i.identifier));
    if (!taken.has(base)) return base;
    for (let n = 2; ; n++) if (!taken.has(`${base}:${n}`)) return `${base}:${n}`;
  }

  // --- rpc -----------------------------------------------------------------

  private async handleRpc(conn: Conn, endpoint: string, callId: number, parameter: unknown): Promise<void> {
    if (this.fault.type === "unansweredRpc" && this.fault.endpoints.includes(endpoint)) return;
    try {
      const result = await this.rpc(conn.namespace, endpoint, parameter);
      this.send(conn, result === undefined ? { type: "rpcResult", callId } : { type: "rpcResult", callId, result });
    } catch (error) {
      const serialized = error instanceof ProtocolFailure ? error.error : errorFromException(`Error in RPC ${endpoint}`, error);
      this.send(conn, { type: "rpcError", callId, error: serialized });
    }
  }

  private async rpc(namespace: string, endpoint: string, parameter: unknown): Promise<unknown> {
    this.rpcCalls.push(`${namespace}/${endpoint}`);
    const p = (parameter ?? {}) as Record<string, unknown>;
    if (namespace === "llm") {
      switch (endpoint) {
        case "listLoaded":
          return this.visibleInstances().map((i) => this.instanceInfo(i));
        case "getModelInfo": {
          try {
            return this.instanceInfo(this.resolveSpecifier(p.specifier));
          } catch (error) {
            if (p.throwIfNotFound === false && error instanceof ProtocolFailure) return undefined;
            throw error;
          }
        }
        case "getLoadConfig": {
          // As the instance has it: the config it was loaded with, and its real context length
          // (what model.getContextLength() reads), whether asked for or the engine's choice.
          const instance = this.resolveSpecifier(p.specifier);
          const config = { ...instance.loadConfig, [LoadKeys.contextLength]: instance.model.contextLength };
          return { fields: Object.entries(config).map(([key, value]) => ({ key, value })) };
        }
        case "unloadModel": {
          const identifier = String(p.identifier);
          const instance = [...this.instances.values()].find((i) => i.identifier === identifier);
          if (instance === undefined) {
            throw new ProtocolFailure(
              identifierNotFoundError(
                identifier,
                [...this.instances.values()].map((i) => i.identifier),
              ),
            );
          }
          this.instances.delete(instance.instanceReference);
          await instance.model.unload();
          return undefined;
        }
        case "tokenize":
          return { tokens: this.resolveSpecifier(p.specifier).model.tokenize(String(p.inputString ?? "")) };
        case "countTokens":
          return { tokenCount: this.resolveSpecifier(p.specifier).model.tokenize(String(p.inputString ?? "")).length };
        case "applyPromptTemplate":
          return { formatted: this.applyPromptTemplate(this.resolveSpecifier(p.specifier), p) };
      }
    } else if (namespace === "system") {
      switch (endpoint) {
        case "listDownloadedModels":
          return this.catalog.map((e) => e.info);
        case "version":
          return { version: "0.3.99-lmc-test", build: 1 };
        case "notify":
          return undefined;
        case "getExperimentFlags":
          return [];
      }
    } else if (namespace === "embedding") {
      switch (endpoint) {
        case "listLoaded":
          return [];
        case "getModelInfo":
          if (p.throwIfNotFound === false) return undefined;
          throw new ProtocolFailure(noModelMatchingQueryError({}, []));
      }
    }
    throw new ProtocolFailure(makeError(`The test server does not implement the RPC endpoint "${namespace}/${endpoint}"`));
  }

  /** The chat formatted with the instance's own template, or LM Studio-shaped errors. */
  private applyPromptTemplate(instance: Instance, p: Record<string, unknown>): string {
    try {
      return instance.model.applyPromptTemplate(chatMessagesFromHistory(p.history), promptTemplateOptions(p.opts));
    } catch (error) {
      if (error instanceof NoPromptTemplateError) throw new ProtocolFailure(noPromptTemplateError(instance.entry.key));
      if (error instanceof PromptTemplateRenderError) throw new ProtocolFailure(promptTemplateRenderError(error.message));
      if (error instanceof ProtocolShapeError) throw new ProtocolFailure(makeError(`Failed to apply prompt template: ${error.message}`));
      throw error;
    }
  }

  // --- channels ------------------------------------------------------------

  private handleChannelCreate(conn: Conn, endpoint: string, channelId: number, param: unknown): void {
    const ch: ChannelState = { endpoint, abort: new AbortController(), ended: false };
    conn.channels.set(channelId, ch);
    const p = (param ?? {}) as Record<string, unknown>;
    const run = async () => {
      if (conn.namespace === "llm") {
        switch (endpoint) {
          case "getOrLoad":
            return this.getOrLoad(conn, channelId, ch, p);
          case "loadModel":
            return this.loadModelChannel(conn, channelId, ch, p);
          case "predict":
          case "completeRawText":
            return this.predict(conn, channelId, ch, endpoint, p);
        }
      } else if (conn.namespace === "system" && endpoint === "alive") {
        return; // stays open until the socket closes
      }
      this.channelError(conn, channelId, ch, makeError(`The test server does not implement the channel endpoint "${conn.namespace}/${endpoint}"`));
    };
    void this.track(
      run().catch((error: unknown) => {
        const serialized = error instanceof ProtocolFailure ? error.error : errorFromException(`Error in channel ${endpoint}`, error);
        this.channelError(conn, channelId, ch, serialized);
      }),
    );
  }

  /** `client.llm.model(key)`: alreadyLoaded, or startLoading → loadProgress… → loadSuccess. */
  private async getOrLoad(conn: Conn, channelId: number, ch: ChannelState, p: Record<string, unknown>): Promise<void> {
    const identifier = String(p.identifier ?? "");
    const loadConfig = mergeKVStack(p.loadConfigStack);
    const loaded = this.visibleInstances().find((i) => i.identifier === identifier || i.entry.key === identifier);
    const entry = loaded?.entry ?? this.findEntry(identifier);
    const record: ReceivedRequest = {
      channel: "getOrLoad",
      modelKey: entry?.key ?? "",
      identifier,
      prompt: "",
      config: {},
      loadConfig,
      ...(p.loadTtlMs === undefined ? {} : { loadTtlMs: p.loadTtlMs }),
    };
    this.received.push(record);
    if (loaded !== undefined) {
      this.channelSend(conn, channelId, ch, { type: "alreadyLoaded", info: this.instanceInfo(loaded) });
      this.channelClose(conn, channelId, ch);
      return;
    }
    if (entry === undefined) {
      throw new ProtocolFailure(
        pathNotFoundError(
          identifier,
          this.catalog.map((e) => e.key),
        ),
      );
    }
    record.cancelled = false;
    ch.onMessage = (m) => {
      if ((m as { type?: unknown })?.type !== "cancel") return;
      record.cancelled = true;
      ch.abort.abort();
    };
    // JIT load. Under the nothingLoaded fault an instance may already exist (hidden): reuse it.
    const hidden = [...this.instances.values()].find((i) => i.entry.key === entry.key);
    const jitIdentifier = hidden?.identifier ?? this.uniqueIdentifier(entry.key);
    this.channelSend(conn, channelId, ch, { type: "startLoading", identifier: jitIdentifier, info: entry.info });
    let pending: PendingLoad | undefined;
    let loadPromise: Promise<Instance | null>;
    if (hidden !== undefined) {
      loadPromise = Promise.resolve(hidden);
    } else {
      pending = this.pendingLoads.get(entry.key);
      if (pending === undefined) {
        const created: PendingLoad = { waiters: 0, promise: Promise.resolve(null) };
        created.promise = (async () => {
          try {
            // A slow disk, when the test asks for one: loads on demand only, not the server's own at start.
            if (this.options.loadDelayMs) await sleep(this.options.loadDelayMs);
            await this.options.loadGate;
            const instance = await this.loadInstance(entry, jitIdentifier, loadConfig);
            if (created.waiters === 0 || this.closing) {
              await instance.model.unload();
              return null;
            }
            this.register(instance);
            return instance;
          } finally {
            this.pendingLoads.delete(entry.key);
          }
        })();
        created.promise.catch(() => undefined);
        this.pendingLoads.set(entry.key, created);
        pending = created;
      }
      pending.waiters++;
      loadPromise = pending.promise;
    }
    const outcome = await this.progressWhile(loadPromise, ch.abort.signal, (progress) =>
      this.channelSend(conn, channelId, ch, { type: "loadProgress", progress }),
    );
    if (outcome === "aborted") {
      if (pending !== undefined) pending.waiters--;
      this.channelClose(conn, channelId, ch);
      return;
    }
    let instance: Instance | null;
    try {
      instance = await loadPromise;
    } catch (error) {
      throw new ProtocolFailure(errorFromException(`Failed to load model "${entry.key}"`, error));
    }
    if (instance === null) throw new ProtocolFailure(makeError(`Loading of "${entry.key}" was cancelled`));
    this.channelSend(conn, channelId, ch, { type: "loadProgress", progress: 1 });
    this.channelSend(conn, channelId, ch, { type: "loadSuccess", info: this.instanceInfo(instance) });
    this.channelClose(conn, channelId, ch);
  }

  /** `client.llm.load(key)`: resolved → progress… → success, always a new instance. */
  private async loadModelChannel(conn: Conn, channelId: number, ch: ChannelState, p: Record<string, unknown>): Promise<void> {
    const modelKey = String(p.modelKey ?? "");
    const entry = this.findEntry(modelKey);
    if (entry === undefined)
      throw new ProtocolFailure(
        pathNotFoundError(
          modelKey,
          this.catalog.map((e) => e.key),
        ),
      );
    const loadConfig = mergeKVStack(p.loadConfigStack);
    ch.onMessage = (m) => {
      if ((m as { type?: unknown })?.type === "cancel") ch.abort.abort();
    };
    const identifier = this.uniqueIdentifier(typeof p.identifier === "string" ? p.identifier : entry.key);
    this.channelSend(conn, channelId, ch, { type: "resolved", info: entry.info });
    const loadPromise = this.loadInstance(entry, identifier, loadConfig);
    loadPromise.catch(() => undefined);
    const outcome = await this.progressWhile(loadPromise, ch.abort.signal, (progress) => this.channelSend(conn, channelId, ch, { type: "progress", progress }));
    let instance: Instance;
    try {
      instance = await loadPromise;
    } catch (error) {
      throw new ProtocolFailure(errorFromException(`Failed to load model "${entry.key}"`, error));
    }
    if (outcome === "aborted" || this.closing) {
      await instance.model.unload();
      this.channelClose(conn, channelId, ch);
      return;
    }
    this.register(instance);
    this.channelSend(conn, channelId, ch, { type: "progress", progress: 1 });
    this.channelSend(conn, channelId, ch, { type: "success", info: this.instanceInfo(instance) });
    this.channelClose(conn, channelId, ch);
  }

  /** Reports progress 0, 0.2 … 0.8 (20 ms apart, at least that many) until `work` settles. */
  private async progressWhile(work: Promise<unknown>, signal: AbortSignal, report: (progress: number) => void): Promise<"done" | "aborted"> {
    let settled = false;
    void work.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (let step = 0; step <= 4; step++) {
      if (signal.aborted) return "aborted";
      report(step / 5);
      await sleep(20, signal);
    }
    while (!settled && !signal.aborted) await sleep(10, signal);
    return signal.aborted ? "aborted" : "done";
  }

  /** `predict` (1.x, history) and `completeRawText` (2.x, rawPrompt). */
  private async predict(conn: Conn, channelId: number, ch: ChannelState, endpoint: "predict" | "completeRawText", p: Record<string, unknown>): Promise<void> {
    const signal = ch.abort.signal;
    let record: ReceivedRequest | undefined;
    ch.onMessage = (m) => {
      if ((m as { type?: unknown })?.type !== "cancel") return;
      if (record) record.cancelled = true;
      ch.abort.abort();
    };
    const config = mergeKVStack(p.predictionConfigStack);
    const prompt = endpoint === "predict" ? promptFromHistory(p.history) : String(p.rawPrompt ?? "");
    let resolved: Instance | undefined;
    try {
      resolved = this.resolveSpecifier(p.modelSpecifier);
    } finally {
      record = {
        channel: endpoint,
        modelKey: resolved?.entry.key ?? "",
        identifier: resolved?.identifier ?? "",
        prompt,
        config,
        ...(resolved && Object.keys(resolved.loadConfig).length > 0 ? { loadConfig: resolved.loadConfig } : {}),
        cancelled: false,
      };
      this.received.push(record);
    }
    const instance = resolved;
    const fault = this.fault;
    if (fault.type === "predictionError") {
      throw new ProtocolFailure(
        makeError(fault.title ?? DEFAULT_PREDICTION_ERROR_TITLE, {
          cause: fault.cause,
          suggestion: fault.suggestion,
          displayData: fault.code === undefined ? undefined : { code: fault.code },
          stack: `Error: ${fault.title ?? DEFAULT_PREDICTION_ERROR_TITLE}\n    at lmc-test-server (fault predictionError)`,
        }),
      );
    }
    if (fault.type === "dieMidStream" && fault.afterFragments <= 0) {
      this.destroyAllSockets();
      return;
    }
    if (fault.type === "flood") {
      await this.flood(conn, channelId, ch, instance, prompt, fault);
      return;
    }

    const granted = await instance.slots.acquire(signal);
    if (!granted) {
      // Cancelled while waiting for a free slot.
      this.finishPrediction(conn, channelId, ch, instance, {
        stopReason: "userStopped",
        promptTokensCount: 0,
        predictedTokensCount: 0,
        timeToFirstTokenSec: 0,
        totalTimeSec: 0,
        tokensPerSecond: 0,
      });
      return;
    }
    try {
      instance.lastUsedTime = Date.now();
      const sampling = samplingFromConfig(config);
      let lastProcessed = -1;
      let total = -1;
      let sentFinalProgress = false;
      const progress = (processed: number, all: number) => {
        if (processed === lastProcessed && all === total) return;
        if (lastProcessed < 0 && processed > 0) this.channelSend(conn, channelId, ch, promptProgressPacket(0, all));
        lastProcessed = processed;
        total = all;
        if (processed >= all) sentFinalProgress = true;
        this.channelSend(conn, channelId, ch, promptProgressPacket(processed, all));
      };
      const ensureFinalProgress = () => {
        if (!sentFinalProgress) {
          const all = total >= 0 ? total : instance.model.tokenize(prompt).length;
          progress(all, all);
        }
      };
      let fragments = 0;
      let reasoning: "before" | "inside" | "after" = this.options.reasoning ? "before" : "after";
      /** LM Studio's labels for a reasoning model's fragments (see TestServerOptions.reasoning). */
      const sendFragment = (text: string, tokensCount: number) => {
        if (reasoning === "after") return this.channelSend(conn, channelId, ch, fragmentPacket(text, tokensCount));
        if (reasoning === "before") {
          this.channelSend(conn, channelId, ch, fragmentPacket("<think>", 0, "reasoningStartTag"));
          reasoning = "inside";
        }
        this.channelSend(conn, channelId, ch, fragmentPacket(text, tokensCount, "reasoning"));
        if (text.includes(".")) {
          this.channelSend(conn, channelId, ch, fragmentPacket("</think>", 0, "reasoningEndTag"));
          reasoning = "after";
        }
      };
      let result: CompletionResult;
      try {
        result = await instance.model.complete({
          prompt,
          ...sampling,
          signal,
          onPromptProgress: progress,
          onFragment: async (text, tokensCount) => {
            const current = this.fault;
            if (current.type === "slow") await sleep(current.delayMs, signal);
            if (signal.aborted || ch.ended) return;
            ensureFinalProgress();
            if (current.type === "stall" && fragments >= current.afterFragments) return;
            if (current.type === "badFrame" && fragments === current.afterFragments) this.sendBadFrame(conn, channelId, current.kind);
            fragments++;
            if (current.type === "dieMidStream" && fragments >= current.afterFragments) {
              // Let this fragment reach the kernel, then cut every connection.
              const message = { type: "channelSend", channelId, message: fragmentPacket(text, tokensCount) };
              await new Promise<void>((resolve) => {
                if (conn.ws.readyState !== WebSocket.OPEN) return resolve();
                conn.ws.send(JSON.stringify(message), () => resolve());
              });
              this.destroyAllSockets();
              return;
            }
            sendFragment(text, tokensCount);
          },
        });
      } catch (error) {
        // LM Studio puts the engine's own message in the title (e.g. a prompt longer than the context).
        const e = error instanceof Error ? error : new Error(String(error));
        throw new ProtocolFailure(makeError(e.message, { stack: e.stack }));
      }
      ensureFinalProgress();
      if (this.fault.type === "stall") return; // the channel stays open, silent
      this.finishPrediction(conn, channelId, ch, instance, result);
    } finally {
      instance.lastUsedTime = Date.now();
      instance.slots.release();
    }
  }

  /** The flood fault: fragments in batches, each batch handed to the kernel before the next. */
  private async flood(
    conn: Conn,
    channelId: number,
    ch: ChannelState,
    instance: Instance,
    prompt: string,
    fault: Extract<Fault, { type: "flood" }>,
  ): Promise<void> {
    const signal = ch.abort.signal;
    const started = performance.now();
    const promptTokensCount = instance.model.tokenize(prompt).length;
    this.channelSend(conn, channelId, ch, promptProgressPacket(promptTokensCount, promptTokensCount));
    const frame = JSON.stringify({
      type: "channelSend",
      channelId,
      message: fragmentPacket(fault.text ?? "word ", 1, fault.reasoning ? "reasoning" : undefined),
    });
    let sent = 0;
    while (sent < fault.fragments && !signal.aborted && !ch.ended && conn.ws.readyState === WebSocket.OPEN) {
      const batch = Math.min(256, fault.fragments - sent);
      for (let i = 1; i < batch; i++) conn.ws.send(frame);
      // Waiting for the batch's last frame to be written keeps the send buffer small and
      // lets a cancel in.
      await new Promise<void>((resolve) => conn.ws.send(frame, () => resolve()));
      sent += batch;
    }
    const totalTimeSec = (performance.now() - started) / 1000;
    this.finishPrediction(conn, channelId, ch, instance, {
      stopReason: signal.aborted ? "userStopped" : "maxPredictedTokensReached",
      promptTokensCount,
      predictedTokensCount: sent,
      timeToFirstTokenSec: 0,
      totalTimeSec,
      tokensPerSecond: totalTimeSec > 0 ? sent / totalTimeSec : 0,
    });
  }

  /** One frame the client cannot read (the badFrame fault). */
  private sendBadFrame(conn: Conn, channelId: number, kind: Extract<Fault, { type: "badFrame" }>["kind"]): void {
    if (conn.ws.readyState !== WebSocket.OPEN) return;
    if (kind === "utf8") conn.ws.send(Buffer.from('{"type":"\xff\xfe"}', "latin1"), { binary: false });
    else if (kind === "json") conn.ws.send('{"type":"channelSend",');
    else if (kind === "unknown") conn.ws.send(JSON.stringify({ type: "lmcTestUnknownMessage" }));
    // An empty final frame of opcode 3, which is reserved: written under ws, which sends no such frame.
    else if (kind === "opcode") (conn.ws as unknown as { _socket: Socket })._socket.write(Buffer.from([0x83, 0x00]));
    else conn.ws.send(JSON.stringify({ type: "channelSend", channelId, message: { type: "fragment", fragment: { content: 42 } } }));
  }

  private finishPrediction(conn: Conn, channelId: number, ch: ChannelState, instance: Instance, result: CompletionResult): void {
    if (this.fault.type === "noResult") {
      this.channelClose(conn, channelId, ch);
      return;
    }
    const promptTokensCount = Math.round(finite(result.promptTokensCount));
    const predictedTokensCount = Math.round(finite(result.predictedTokensCount));
    const stats = {
      stopReason: result.stopReason,
      ...(result.stopString !== undefined ? { stopString: result.stopString } : {}),
      tokensPerSecond: finite(result.tokensPerSecond),
      numGpuLayers: 0,
      timeToFirstTokenSec: finite(result.timeToFirstTokenSec),
      totalTimeSec: finite(result.totalTimeSec),
      promptTokensCount,
      predictedTokensCount,
      totalTokensCount: promptTokensCount + predictedTokensCount,
      ...(this.fault.type === "resultStats" ? this.fault.stats : {}),
    };
    this.channelSend(conn, channelId, ch, {
      type: "success",
      stats,
      modelInfo: this.instanceInfo(instance),
      loadModelConfig: { fields: [] },
      predictionConfig: { fields: [] },
    });
    this.channelClose(conn, channelId, ch);
  }
}
