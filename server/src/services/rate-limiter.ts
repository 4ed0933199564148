// Rate limits for busy paths (MQTT requests, REST commands), counted in PostgreSQL so they hold
// across instances, with hits batched: while one statement is in flight, the hits that arrive are
// gathered and sent together (one upsert per batch, summed per key). No fixed delay is added: an
// idle server sends each hit at once. A request is allowed when each of its keys has room; hits
// counted for a request that another key refused are given back.
//
// Local leases (counting locally, flushing in batches): for a key whose limit is at least 40, a trip to the database takes a small lease of slots (limit / 20, at most 100)
// beside the hits it asks for; the next hits on that key are counted against the lease in memory,
// with no statement, until it is spent or its window ends. The database counter is what every
// instance shares, and it never passes the limit, so several instances together never admit more
// than the limit. The tolerance goes the other way: a hit may be refused while some instance still
// holds unspent leased slots, at most (lease - 1) per instance and key, so N instances admit at
// least limit - N × (lease - 1): under 5 % of the limit per instance (stated in config.ts; the
// test with two instances checks both bounds). A key refused by the
// database is refused locally, without a statement, until its window ends. Keys with small limits
// (a login's 10 per minute) take no lease: every hit is counted in the database as before.
import { rateLimit, type Sql } from '../db/index.js';
import type { RateLimitKey, RateLimitResult } from '../db/rate-limit.js';
import { Batcher } from './batcher.js';

interface Hit {
  keys: RateLimitKey[];
}

/** Slots leased beside the hits asked for: 1/20 of the limit, at most 100 (1: no lease). */
export function leaseSize(limit: number): number {
  return Math.max(1, Math.min(100, Math.floor(limit / 20)));
}

interface Lease {
  /** Unspent slots, already counted in the database. */
  left: number;
  /** Date.now() at which the window the slots belong to ends. */
  endsAt: number;
  windowStart: Date;
  /** The database refused this key: refuse locally until endsAt. */
  exhausted: boolean;
}

export class RateLimiter {
  private readonly batcher: Batcher<Hit, RateLimitResult>;
  private readonly leases = new Map<string, Lease>();

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
    const local = this.fromLeases(dedupe(keys));
    return local ?? this.batcher.add({ keys });
  }

  /** The verdict from the leases alone, when each key has a live lease (or one key is known exhausted); else null. */
  private fromLeases(keys: RateLimitKey[]): Promise<RateLimitResult> | null {
    const now = Date.now();
    let all = keys.length > 0;
    for (const k of keys) {
      const l = this.leases.get(k.key);
      if (l !== undefined && l.endsAt <= now) this.leases.delete(k.key);
      else if (l?.exhausted) {
        return Promise.resolve({ allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((l.endsAt - now) / 1000)), counts: {}, exceeded: [k.key] });
      }
      if (l === undefined || l.endsAt <= now || l.left <= 0) all = false;
    }
    if (!all) return null;
    for (const k of keys) this.leases.get(k.key)!.left -= 1;
    return Promise.resolve({ allowed: true, retryAfterSeconds: 0, counts: {}, exceeded: [] });
  }

  private async run(batch: Hit[]): Promise<RateLimitResult[]> {
    const now = Date.now();
    // a slot per (hit, key): from a live lease when one is left, else asked of the database
    const fromLease = batch.map(() => new Set<string>());
    const totals = new Map<string, { limit: number; n: number }>();
    for (const [i, p] of batch.entries()) {
      for (const k of dedupe(p.keys)) {
        const l = this.leases.get(k.key);
        if (l !== undefined && l.endsAt > now && !l.exhausted && l.left > 0) {
          l.left -= 1;
          fromLease[i].add(k.key);
          continue;
        }
        const t = totals.get(k.key);
        if (t) {
          t.n += 1;
          t.limit = Math.min(t.limit, k.limit);
        } else totals.set(k.key, { limit: k.limit, n: 1 });
      }
    }
    const entries = [...totals].map(([key, t]) => ({ key, limit: t.limit, n: t.n + leaseSize(t.limit) - 1, asked: t.n }));
    let res: Awaited<ReturnType<typeof rateLimit.hitBatch>> | null = null;
    if (entries.length > 0) {
      try {
        res = await rateLimit.hitBatch(this.sql, entries.map(({ key, limit, n }) => ({ key, limit, n })), this.windowSeconds, this.windowOriginSeconds);
      } catch (err) {
        // the slots taken from leases go back before the failure reaches the callers
        for (const [i, p] of batch.entries()) for (const k of dedupe(p.keys)) if (fromLease[i].has(k.key)) this.giveBack(k.key);
        throw err;
      }
      const endsAt = Date.now() + res.msLeft;
      for (const e of entries) {
        if (leaseSize(e.limit) === 1) continue; // no lease: every hit is counted in the database
        const granted = res.granted.get(e.key) ?? 0;
        // what the database granted beyond the hits of this batch is the new lease
        const extra = Math.max(0, granted - e.asked);
        const old = this.leases.get(e.key);
        const sameWindow = old !== undefined && old.windowStart.getTime() === res.windowStart.getTime() && old.endsAt > now;
        this.leases.set(e.key, { left: extra + (sameWindow && !old.exhausted ? old.left : 0), endsAt, windowStart: res.windowStart, exhausted: granted < e.asked });
      }
    }
    const left = new Map<string, number>();
    for (const e of entries) left.set(e.key, Math.min(e.asked, res?.granted.get(e.key) ?? 0));
    const refunds = new Map<string, number>();
    const results: RateLimitResult[] = [];
    const retryAfterSeconds = res?.retryAfterSeconds ?? this.windowSeconds;
    for (const [i, p] of batch.entries()) {
      const keys = dedupe(p.keys);
      const took = new Set<string>();
      const exceeded: string[] = [];
      for (const k of keys) {
        if (fromLease[i].has(k.key)) {
          took.add(k.key);
          continue;
        }
        const n = left.get(k.key) ?? 0;
        if (n > 0) {
          left.set(k.key, n - 1);
          took.add(k.key);
        } else exceeded.push(k.key);
      }
      if (exceeded.length > 0) {
        // a slot taken on this key by a request that another key refuses goes back: to the lease
        // when the key leases, else to the database counter
        for (const k of keys) {
          if (!took.has(k.key)) continue;
          if (fromLease[i].has(k.key) || leaseSize(k.limit) > 1) this.giveBack(k.key);
          else refunds.set(k.key, (refunds.get(k.key) ?? 0) + 1);
        }
      }
      const counts = Object.fromEntries(keys.map((k) => [k.key, res?.counts.get(k.key) ?? 0]));
      results.push({ allowed: exceeded.length === 0, retryAfterSeconds, counts, exceeded });
    }
    if (refunds.size > 0 && res !== null) {
      rateLimit.refund(this.sql, res.windowStart, [...refunds].map(([key, n]) => ({ key, n }))).catch(this.onError);
    }
    return results;
  }

  /** A slot counted in the database but not used goes back to the key's lease (if still in its window). */
  private giveBack(key: string): void {
    const l = this.leases.get(key);
    if (l !== undefined && l.endsAt > Date.now()) l.left += 1;
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
