// Rate limits for busy paths (MQTT requests, REST commands), counted in PostgreSQL so they hold
// across instances, with hits batched: while one statement is in flight, the hits that arrive are
// gathered and sent together (one upsert per batch, summed per key). No fixed delay is added: an
// idle server sends each hit at once. A request is allowed when each of its keys has room; hits
// counted for a request that another key refused are given back.
import { rateLimit, type Sql } from '../db/index.js';
import type { RateLimitKey, RateLimitResult } from '../db/rate-limit.js';
import { Batcher } from './batcher.js';

interface Hit {
  keys: RateLimitKey[];
}

export class RateLimiter {
  private readonly batcher: Batcher<Hit, RateLimitResult>;

  constructor(
    private readonly sql: Sql,
    private readonly windowSeconds = 60,
    private readonly onError: (err: unknown) => void = () => {},
    /** Epoch second the windows are counted from (0: aligned on the clock's multiples of windowSeconds). */
    private readonly windowOriginSeconds = 0,
  ) {
    this.batcher = new Batcher((hits) => this.run(hits));
  }

  hit(keys: RateLimitKey[]): Promise<RateLimitResult> {
    return this.batcher.add({ keys });
  }

  private async run(batch: Hit[]): Promise<RateLimitResult[]> {
    const totals = new Map<string, { limit: number; n: number }>();
    for (const p of batch) {
      for (const k of dedupe(p.keys)) {
        const t = totals.get(k.key);
        if (t) {
          t.n += 1;
          t.limit = Math.min(t.limit, k.limit);
        } else totals.set(k.key, { limit: k.limit, n: 1 });
      }
    }
    const res = await rateLimit.hitBatch(this.sql, [...totals].map(([key, t]) => ({ key, limit: t.limit, n: t.n })), this.windowSeconds, this.windowOriginSeconds);
    const left = new Map(res.granted);
    const refunds = new Map<string, number>();
    const results: RateLimitResult[] = [];
    for (const p of batch) {
      const keys = dedupe(p.keys);
      const exceeded = keys.filter((k) => (left.get(k.key) ?? 0) <= 0).map((k) => k.key);
      for (const k of keys) {
        const n = left.get(k.key) ?? 0;
        if (n > 0) left.set(k.key, n - 1);
        // a slot taken on this key by a request that another key refuses goes back
        if (n > 0 && exceeded.length > 0) refunds.set(k.key, (refunds.get(k.key) ?? 0) + 1);
      }
      const counts = Object.fromEntries(keys.map((k) => [k.key, res.counts.get(k.key) ?? 0]));
      results.push({ allowed: exceeded.length === 0, retryAfterSeconds: res.retryAfterSeconds, counts, exceeded });
    }
    if (refunds.size > 0) {
      rateLimit.refund(this.sql, res.windowStart, [...refunds].map(([key, n]) => ({ key, n }))).catch(this.onError);
    }
    return results;
  }
}

function dedupe(keys: RateLimitKey[]): RateLimitKey[] {
  const m = new Map<string, RateLimitKey>();
  for (const k of keys) {
    const e = m.get(k.key);
    if (!e || k.limit < e.limit) m.set(k.key, k);
  }
  return [...m.values()];
}
