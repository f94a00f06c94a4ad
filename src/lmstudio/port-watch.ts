// What the SDK does not tell about a prediction. lmstudio-js 1.5 validates every
// message from the server and, when it refuses one, only logs it (and tells the server);
// a prediction channel that the server closes without a result is not noticed either.
// Either way the prediction would never settle. This watches the SDK's client port
// (internal to the SDK, read defensively: where it is not there, nothing is watched and
// --idle-timeout still bounds the wait) and reports the trouble of each prediction.

import { escapeControls } from "../terminal/terminal-text.js";

/** What went wrong with a prediction's answers, as the end of "LM Studio at HOST …". */
type Trouble = (what: string) => void;

/** The parts of the SDK's channel (lms-communication's Channel) read here. */
interface SdkChannel {
  onClose: { subscribe(listener: () => void): unknown };
}

/** The parts of the SDK's ClientPort read here; its methods are replaced by ones that call them on the port. */
interface SdkPort {
  createChannel: (this: SdkPort, endpoint: string, param: unknown, onMessage?: (message: unknown) => void, ...rest: unknown[]) => SdkChannel;
  receivedChannelSend: (this: SdkPort, message: { channelId?: unknown; message?: unknown }) => void;
  communicationWarning: (this: SdkPort, warning: string) => void;
  openChannels: Map<unknown, { channel: SdkChannel }>;
  transport?: { status?: unknown };
}

export interface PortWatch {
  /**
   * Runs `start`, which opens one prediction channel, and reports that prediction's
   * trouble: a message of it that the SDK refused, or its channel ended with no result.
   */
  predicting<T>(start: () => T, trouble: Trouble): T;
  /** The server sent a frame that is not a message at all: every prediction in flight is in trouble. */
  unreadableFrame(what: string): void;
  /** Whether the websocket is open and the handshake done (undefined: not known). */
  connected(): boolean | undefined;
}

const PREDICTION_CHANNELS = new Set(["predict", "completeRawText"]);

export function watchPort(port: unknown): PortWatch {
  const troubles = new Map<SdkChannel, Trouble>();
  let claim: Trouble | undefined;
  if (!isSdkPort(port)) return { predicting: (start) => start(), unreadableFrame: () => {}, connected: () => undefined };

  const createChannel = port.createChannel;
  port.createChannel = function (endpoint, param, onMessage, ...rest) {
    const trouble = PREDICTION_CHANNELS.has(endpoint) ? claim : undefined;
    if (trouble === undefined) return createChannel.call(this, endpoint, param, onMessage, ...rest);
    let answered = false;
    const watched = (message: unknown) => {
      if ((message as { type?: unknown })?.type === "success") answered = true;
      onMessage?.(message);
    };
    const channel = createChannel.call(this, endpoint, param, watched, ...rest);
    troubles.set(channel, trouble);
    channel.onClose.subscribe(() => {
      troubles.delete(channel);
      // The result, when sent, was handed on first; a turn of the event loop makes sure.
      setImmediate(() => answered || trouble("ended the prediction without its result"));
    });
    return channel;
  };

  // A refused message is warned about while the SDK handles it: which channel it was for is known then.
  let receiving: { channel?: SdkChannel; type: unknown } | undefined;
  const receivedChannelSend = port.receivedChannelSend;
  port.receivedChannelSend = function (message) {
    receiving = { channel: this.openChannels.get(message?.channelId)?.channel, type: (message?.message as { type?: unknown })?.type };
    try {
      receivedChannelSend.call(this, message);
    } finally {
      receiving = undefined;
    }
  };
  const communicationWarning = port.communicationWarning;
  port.communicationWarning = function (warning) {
    const { channel, type } = receiving ?? {};
    const trouble = channel && troubles.get(channel);
    if (channel && trouble) {
      troubles.delete(channel);
      const message = type === "success" ? "a result" : type === "fragment" ? "a fragment" : "a message";
      trouble(`sent ${message} that lmc cannot read${firstProblem(warning)}`);
    }
    communicationWarning.call(this, warning);
  };

  return {
    predicting(start, trouble) {
      claim = trouble;
      try {
        return start();
      } finally {
        claim = undefined;
      }
    },
    unreadableFrame(what) {
      for (const trouble of troubles.values()) trouble(`sent ${what}`);
      troubles.clear();
    },
    connected: () => port.transport?.status === "CONNECTED",
  };
}

function isSdkPort(port: unknown): port is SdkPort {
  const p = port as Partial<SdkPort> | undefined;
  return (
    typeof p?.createChannel === "function" &&
    typeof p.receivedChannelSend === "function" &&
    typeof p.communicationWarning === "function" &&
    p.openChannels instanceof Map
  );
}

/**
 * The first problem the SDK's validation found ("- message.stats.stopReason: Invalid
 * enum value …"), in parentheses: the server's words, so shortened and escaped.
 */
export function firstProblem(warning: string): string {
  const problem = /^- message\.(.+)$/m.exec(warning)?.[1];
  if (problem === undefined) return "";
  // Zod lists every value an enum allows: what was received is the news.
  const news = problem.replace(/\. Expected .*, received /, ", received ");
  const short = news.length > 200 ? `${news.slice(0, 200)}…` : news;
  return ` (${escapeControls(short)})`;
}
