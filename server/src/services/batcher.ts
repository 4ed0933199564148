// Gathers many small database operations into one statement without adding a delay: the first item
// runs at once; items that arrive while a batch is in flight go together in the next one. Used
// where many requests arrive together (rate-limit hits, player look-ups, idempotency records).
export class Batcher<I, O> {
  private queue: { item: I; resolve: (o: O) => void; reject: (e: unknown) => void }[] = [];
  private running = false;

  /** Batches run and items served (for metrics and tests). */
  readonly stats = { runs: 0, items: 0 };

  /** `run` gets the items of one batch and returns one result per item, in order. */
  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxBatch = 500,
  ) {}

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.stats.runs++;
      this.stats.items += batch.length;
      try {
        const out = await this.run(batch.map((b) => b.item));
        if (out.length !== batch.length) throw new Error(`batch returned ${out.length} results for ${batch.length} items`);
        batch.forEach((b, i) => b.resolve(out[i]));
      } catch (err) {
        for (const b of batch) b.reject(err);
      }
    }
    this.running = false;
  }
}
