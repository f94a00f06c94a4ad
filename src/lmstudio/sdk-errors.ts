// What the SDK's errors mean for the user, as LmcErrors with the exit status and the
// advice they call for: nothing listening, a token refused, a connection lost, a model
// not found. The SDK's messages are boxed prose; these read them by their phrases.

import { ConnectionLostError, ExitCode, LmcError, ServerProtocolError } from "../errors.js";
import { errorLine, escapeControls, messageParagraphs, plainText } from "../terminal/terminal-text.js";

/** An error from a request before the prediction streams: looking up or loading the model, listing models. */
export function requestError(error: unknown, host: string, sentToken: boolean): LmcError {
  return (
    protocolError(error, host) ??
    connectionError(error, host) ??
    authenticationError(error, host, sentToken) ??
    lostConnection(error, host) ??
    unexpectedError(error)
  );
}

type ModelProblem = "notFound" | "nothingLoaded";

/** The SDK turns LM Studio's error codes into boxed prose; these phrases identify them. */
export function modelProblem(error: unknown): ModelProblem | undefined {
  const text = messageParagraphs(error instanceof Error ? error.message : String(error)).join(" ");
  if (/Cannot find a model with path/i.test(text)) return "notFound";
  if (/No loaded model satisfies/i.test(text)) return "nothingLoaded";
  return undefined;
}

export function modelErrorMessage(problem: ModelProblem, key: string | undefined, available?: string[]): string {
  // The keys come from the server: shown, never obeyed, should one carry an escape sequence.
  const keys = available?.map((modelKey) => escapeControls(modelKey));
  const list = keys === undefined ? "" : keys.length === 0 ? "; no models are downloaded" : `; downloaded models: ${keys.join(", ")}`;
  return problem === "notFound" ? `model "${key}" not found${list}` : `no model is loaded in LM Studio: load one, or name one with --model or LMC_MODEL${list}`;
}

/** What to do when no LM Studio answers: one piece of advice, wherever lmc gives it. */
export const startServerAdvice = `start its server (in the app, with "lms server start", or headless with "lms daemon up")`;

const unreachableCodes = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "ECONNRESET"]);

/** getaddrinfo's answers for a name it could not turn into an address: no such name, or no name server answered. */
const unresolvedCodes: Record<string, string> = { ENOTFOUND: "no such name", EAI_AGAIN: "no name server answered" };

/** An error met before the prediction started that means nothing is listening there. */
export function connectionError(error: unknown, host: string): LmcError | undefined {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  // A name that resolves to nothing is a typo or a network without DNS, not a server to start.
  if (typeof code === "string" && Object.hasOwn(unresolvedCodes, code)) {
    const name = URL.canParse(host) ? new URL(host).hostname : host;
    return new LmcError(`cannot resolve host ${name} (${code}: ${unresolvedCodes[code]}): check the name given to --host or LMC_HOST`, ExitCode.unreachable, {
      cause: error,
    });
  }
  const unreachable = (why: string, advice = `${startServerAdvice} or point --host / LMC_HOST at it`) =>
    new LmcError(`cannot reach LM Studio at ${host} (${why})${advice ? `: ${advice}` : ""}`, ExitCode.unreachable, { cause: error });
  // wss:// to a plain ws:// server: OpenSSL reads the HTTP reply as a TLS record and gives up.
  if (host.startsWith("wss:") && (code === "EPROTO" || /SSL routines|TLS connection/i.test(message))) {
    return unreachable("TLS handshake failed: is the server plain ws://?", "");
  }
  if (typeof code === "string" && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return unreachable(`its TLS certificate is not trusted: ${code}`, "");
  }
  // A server that is not LM Studio answers the websocket's upgrade with plain HTTP.
  const notLmStudio = /Unexpected server response/i.test(message);
  if (!(typeof code === "string" && unreachableCodes.has(code)) && !notLmStudio) return undefined;
  return unreachable(typeof code === "string" ? code : plainText(message));
}

/**
 * A websocket frame that breaks the protocol (ws's WS_ERR_ codes: text that is not UTF-8,
 * a bad opcode, a frame too large). It comes after the connection was made, so the server
 * is there: a failure mid-stream, not "cannot reach".
 */
function protocolError(error: unknown, host: string): ServerProtocolError | undefined {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string" || !code.startsWith("WS_ERR_")) return undefined;
  if (code === "WS_ERR_INVALID_UTF8") return new ServerProtocolError(host, "sent a frame that is not valid UTF-8", error);
  const message = plainText(error instanceof Error ? error.message : String(error));
  return new ServerProtocolError(host, `broke the websocket protocol (${code}: ${message})`, error);
}

/** Any other error of the SDK, as one line without its frame or stack trace (that is for --verbose). */
function unexpectedError(error: unknown): LmcError {
  if (error instanceof LmcError) return error;
  return new LmcError(errorLine(error instanceof Error ? error.message : String(error)), ExitCode.failed, { cause: error });
}

/** The server turned the handshake down: a wrong token, or none where one is required. */
export function authenticationError(error: unknown, host: string, sentToken: boolean): LmcError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  if (!/^Failed to authenticate/.test(message)) return undefined;
  const why = plainText(message.replace(/^Failed to authenticate:\s*/, ""));
  return new LmcError(
    sentToken
      ? `LM Studio at ${host} refused the API token in LM_API_TOKEN (${why})`
      : `LM Studio at ${host} requires an API token (${why}): set LM_API_TOKEN to one made in LM Studio`,
    ExitCode.unauthorized,
    { cause: error },
  );
}

/** The connection broke while lmc was waiting on it: one message for it, wherever it happened. */
function lostConnection(error: unknown, host: string): ConnectionLostError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  return /WebSocket connection closed|ECONNRESET|socket hang up/i.test(message) ? new ConnectionLostError(host, error) : undefined;
}

/** An error while the prediction streams, or of its outcome. */
export function streamError(error: unknown, host: string): LmcError {
  if (error instanceof LmcError) return error;
  const lost = protocolError(error, host) ?? lostConnection(error, host);
  if (lost) return lost;
  // The SDK reconnects for each new prediction: a server that has gone away refuses it.
  const unreachable = connectionError(error, host);
  if (unreachable) return unreachable;
  const title = (error as { title?: unknown })?.title;
  const text = plainText(typeof title === "string" ? title : error instanceof Error ? error.message : String(error));
  return new LmcError(`the prediction failed: ${text}`, ExitCode.failed, { cause: error });
}
