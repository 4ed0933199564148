// One timer for many periodic jobs (heartbeats of thousands of simulated players): a min-heap of
// due times, re-armed to the earliest one. Cancelled jobs are dropped lazily when they come up.
export interface ScheduledJob {
  /** Stops the job; it never runs again. */
  cancel(): void;
}

interface Entry {
  due: number;
  intervalMs: number;
  run: () => void;
  cancelled: boolean;
  seq: number;
}

export class SharedScheduler {
  private readonly heap: Entry[] = [];
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;
  private seq = 0;
  private live = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** Number of jobs that are not cancelled. */
  get size(): number {
    return this.live;
  }

  /**
   * Runs `run` every `intervalMs`, the first time after `firstDelayMs` (default `intervalMs`).
   * `run` must not throw (a throw is swallowed); async work is its own business.
   * When the process was too busy to keep up, a late job runs once and then keeps its period
   * from that moment (no burst of catch-up runs).
   */
  every(intervalMs: number, run: () => void, opts: { firstDelayMs?: number } = {}): ScheduledJob {
    if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) throw new Error(`interval must be a positive number of ms (got ${intervalMs})`);
    const entry: Entry = { due: this.now() + Math.max(0, opts.firstDelayMs ?? intervalMs), intervalMs, run, cancelled: false, seq: this.seq++ };
    this.push(entry);
    this.live++;
    this.arm();
    return {
      cancel: () => {
        if (entry.cancelled) return;
        entry.cancelled = true;
        this.live--;
        if (this.live === 0) this.clear();
      },
    };
  }

  /** Cancels every job and the timer. */
  stop(): void {
    for (const e of this.heap) e.cancelled = true;
    this.clear();
    this.live = 0;
  }

  private clear(): void {
    this.heap.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private arm(): void {
    const top = this.heap[0];
    if (!top) return;
    if (this.timer && this.armedFor <= top.due) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = top.due;
    this.timer = setTimeout(() => this.fire(), Math.max(0, top.due - this.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.now();
    while (this.heap.length > 0 && this.heap[0].due <= now) {
      const e = this.pop()!;
      if (e.cancelled) continue;
      try {
        e.run();
      } catch {
        // A job that throws must not stop the others.
      }
      if (e.cancelled) continue;
      e.due += e.intervalMs;
      if (e.due <= now) e.due = now + e.intervalMs;
      this.push(e);
    }
    this.arm();
  }

  private less(a: Entry, b: Entry): boolean {
    return a.due < b.due || (a.due === b.due && a.seq < b.seq);
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  private pop(): Entry | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || !last) return top;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l], h[m])) m = l;
      if (r < h.length && this.less(h[r], h[m])) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
    return top;
  }
}

/** The scheduler every SimPlayer uses unless it is given another one. */
export const defaultScheduler = new SharedScheduler();
