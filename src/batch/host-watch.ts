// A host that accepts the connection and then says nothing must not hang a batch:
// the SDK has no timeouts of its own. A host shows it is alive by any message for
// any of its predictions (load or prompt progress, a fragment), so items queued
// behind others on a busy host are not taken for a silent one.

export class HostWatch {
  private lastSignOfLife = performance.now();

  constructor(private readonly idleMs: number) {}

  alive(): void {
    this.lastSignOfLife = performance.now();
  }

  /**
   * Calls `onSilent` once the host has shown no sign of life for the idle time,
   * counted from now at the earliest. Returns the function that stops watching.
   */
  watch(onSilent: () => void): () => void {
    const started = performance.now();
    let timer: NodeJS.Timeout;
    const check = () => {
      const quietMs = performance.now() - Math.max(this.lastSignOfLife, started);
      if (quietMs >= this.idleMs) onSilent();
      else timer = setTimeout(check, this.idleMs - quietMs);
    };
    timer = setTimeout(check, this.idleMs);
    return () => clearTimeout(timer);
  }
}
