// --idle-timeout in a single run: a server that accepted the connection and then says
// nothing must not hang the run (the SDK has no timeouts of its own), as a silent host
// is taken out of a batch. Any message is a sign of life: load or prompt progress, a
// fragment. Time lmc spends writing out what it got (a slow reader) is not the server's
// silence.

import type { CompletionSink } from "../output/sinks.js";

/** What lmc waits on LM Studio for, named in the message when it falls silent. */
export type AwaitedAnswer = "the connection" | "the model" | "the model to load" | "the first token" | "the next token" | "the list of models";

export interface IdleWatch {
  /** LM Studio said something; from now on lmc waits for `next`. */
  alive(next: AwaitedAnswer): void;
  /** The sink, with the time its writes take not counted as silence. */
  writesOf(sink: CompletionSink): CompletionSink;
  stop(): void;
}

/** Calls `onSilent` with what was awaited once LM Studio has been silent for `idleMs`, unless lmc was busy writing. */
export function idleWatch(idleMs: number, first: AwaitedAnswer, onSilent: (awaited: AwaitedAnswer) => void): IdleWatch {
  let awaited = first;
  let lastSignOfLife = performance.now();
  let writing = 0;
  // Checked when the idle time may have passed, not reset on every fragment (a stream may have millions).
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const quietMs = performance.now() - lastSignOfLife;
    if (writing === 0 && quietMs >= idleMs) return onSilent(awaited);
    timer = setTimeout(check, Math.max(idleMs - quietMs, writing > 0 ? idleMs : 0));
  };
  timer = setTimeout(check, idleMs);
  const alive = () => void (lastSignOfLife = performance.now());
  return {
    alive(next) {
      awaited = next;
      alive();
    },
    writesOf(sink) {
      return {
        async write(text) {
          writing++;
          try {
            await sink.write(text);
          } finally {
            writing--;
            alive();
          }
        },
        commit: () => sink.commit(),
        discard: () => sink.discard(),
        stream: sink.stream,
      };
    },
    stop: () => clearTimeout(timer),
  };
}
