// Identical reads that arrive together share one statement. The first read of a key runs at once;
// identical reads that arrive while it runs share the next run, which starts after all of them
// arrived, so each caller still sees every write committed before it asked. Reads of different
// keys never wait for each other (one slow query stalls only the callers asking the same thing).
// The result is shared between callers: treat it as read-only.
interface Slot<O> {
  running: boolean;
  waiting: { read: () => Promise<O>; resolve: (o: O) => void; reject: (e: unknown) => void }[];
}

export class Coalescer<O> {
  private readonly keys = new Map<string, Slot<O>>();

  /** Number of statements run and number of callers served (for metrics and tests). */
  readonly stats = { runs: 0, callers: 0 };

  run(key: string, read: () => Promise<O>): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      let slot = this.keys.get(key);
      if (!slot) {
        slot = { running: false, waiting: [] };
        this.keys.set(key, slot);
      }
      slot.waiting.push({ read, resolve, reject });
      this.stats.callers++;
      if (!slot.running) void this.drain(key, slot);
    });
  }

  private async drain(key: string, slot: Slot<O>): Promise<void> {
    slot.running = true;
    while (slot.waiting.length > 0) {
      const batch = slot.waiting.splice(0);
      this.stats.runs++;
      try {
        const out = await batch[0]!.read();
        for (const w of batch) w.resolve(out);
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.keys.delete(key);
  }
}
