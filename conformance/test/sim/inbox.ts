// Test helper: collects the raw messages of a topic filter (as the server account sees them) and
// waits for the next one matching a predicate, with a bounded timeout.
import type { MessageRouter, Unsubscribe } from '#runtime/v1';

export interface Received {
  topic: string;
  /** Parsed JSON, or the raw text when it did not parse. */
  json: unknown;
  at: number;
}

export class Inbox {
  readonly messages: Received[] = [];
  private waiters: { from: number; match: (m: Received) => boolean; resolve: (m: Received) => void }[] = [];
  private unsubscribe: Unsubscribe | undefined;

  static async open(router: MessageRouter, filter: string): Promise<Inbox> {
    const inbox = new Inbox();
    inbox.unsubscribe = await router.subscribeRaw(filter, (topic, bytes) => inbox.add(topic, bytes), { qos: 1 });
    return inbox;
  }

  /** Position to wait from: messages received after this call. */
  mark(): number {
    return this.messages.length;
  }

  /** The first message at index >= from that matches; rejects after timeoutMs. */
  next(match: (m: Received) => boolean, opts: { from?: number; timeoutMs?: number; what?: string } = {}): Promise<Received> {
    const from = opts.from ?? 0;
    const found = this.messages.slice(from).find(match);
    if (found) return Promise.resolve(found);
    const timeoutMs = opts.timeoutMs ?? 5000;
    return new Promise<Received>((resolve, reject) => {
      const waiter = {
        from,
        match,
        resolve: (m: Received) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${opts.what ?? 'matching message'} within ${timeoutMs} ms (got ${this.messages.length - from}: ${JSON.stringify(this.messages.slice(from).slice(-5))})`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  async close(): Promise<void> {
    await this.unsubscribe?.();
  }

  private add(topic: string, bytes: Buffer): void {
    const text = bytes.toString('utf8');
    let json: unknown = text;
    try {
      json = JSON.parse(text);
    } catch {
      // keep the text
    }
    const m: Received = { topic, json, at: Date.now() };
    this.messages.push(m);
    const index = this.messages.length - 1;
    for (const w of [...this.waiters]) {
      if (index >= w.from && w.match(m)) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve(m);
      }
    }
  }
}

/** Resolves with the emitter's next `event` (first argument) that matches; rejects after timeoutMs. */
export function nextEvent<T>(
  emitter: { on(e: string, l: (v: T) => void): unknown; off(e: string, l: (v: T) => void): unknown },
  event: string,
  match: (v: T) => boolean = () => true,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no '${event}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (v: T): void => {
      if (!match(v)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(v);
    };
    emitter.on(event, listener);
  });
}
