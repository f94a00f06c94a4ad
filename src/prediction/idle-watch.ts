// --idle-timeout: a server that accepted the connection and then says nothing must not
// hang lmc (the SDK has no timeouts of its own). Any message is a sign of life: load or
// prompt progress, a token, a fragment. Time lmc spends writing out what it got (a slow
// reader) is not the server's silence. A single run (and --list) has one watch; batch
// mode one per host, shared by the items in flight on it, so items queued behind others
// on a busy host are not taken for a silent one.

import { HostSilentError } from "../errors.js";
import type { CompletionSink } from "../output/sinks.js";

/** What lmc waits on LM Studio for, named in the message when it falls silent. */
export type AwaitedAnswer = "the connection" | "the model" | "the model to load" | "the first token" | "the next token" | "the list of models";

/** One wait watched: told of signs of life, stopped when it is over. */
export interface Watching {
  /** LM Studio said something; from now on lmc waits for `next`. */
  alive(next: AwaitedAnswer): void;
  stop(): void;
}

export class IdleWatch {
  private lastSignOfLife = performance.now();
  private writing = 0;

  constructor(
    private readonly idleMs: number,
    private awaited: AwaitedAnswer = "the connection",
  ) {}

  /** LM Studio said something (for any of the waits on it); from now on lmc waits for `next`. */
  alive(next?: AwaitedAnswer): void {
    if (next !== undefined) this.awaited = next;
    this.lastSignOfLife = performance.now();
  }

  /**
   * Calls `onSilent` with what was awaited once LM Studio has been silent for the idle
   * time, counted from now at the earliest, unless lmc was busy writing.
   */
  watch(onSilent: (awaited: AwaitedAnswer) => void): Watching {
    const started = performance.now();
    // Checked when the idle time may have passed, not reset on every fragment (a stream may have millions).
    let timer: NodeJS.Timeout | undefined;
    const check = () => {
      const quietMs = performance.now() - Math.max(this.lastSignOfLife, started);
      if (this.writing === 0 && quietMs >= this.idleMs) return onSilent(this.awaited);
      timer = setTimeout(check, Math.max(this.idleMs - quietMs, this.writing > 0 ? this.idleMs : 0));
    };
    timer = setTimeout(check, this.idleMs);
    return { alive: (next) => this.alive(next), stop: () => clearTimeout(timer) };
  }

  /** The sink, with the time its writes take not counted as silence. */
  writesOf(sink: CompletionSink): CompletionSink {
    return {
      write: async (text) => {
        this.writing++;
        try {
          await sink.write(text);
        } finally {
          this.writing--;
          this.alive();
        }
      },
      commit: () => sink.commit(),
      discard: () => sink.discard(),
      stream: sink.stream,
    };
  }
}

/**
 * The watch of one run on LM Studio at `host` (a single run, --show-prompt,
 * --count-tokens, --list): silent for `seconds`, it ends the run through `stop` with
 * what lmc waited for; the first wait, once the connection is made, is `onceConnected`.
 */
export function watchRun(
  session: { connected(): boolean | undefined },
  host: string,
  seconds: number,
  stop: AbortController,
  onceConnected: AwaitedAnswer = "the model",
): { idle: IdleWatch; silence: Watching } {
  const idle = new IdleWatch(seconds * 1000, "the connection");
  const silence = idle.watch((awaited) => {
    stop.abort(new HostSilentError(host, seconds, awaited === "the connection" && session.connected() ? onceConnected : awaited));
  });
  return { idle, silence };
}
