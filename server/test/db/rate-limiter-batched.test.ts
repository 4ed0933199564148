// The batched rate limiter (services/rate-limiter.ts over db/rate-limit.ts hitBatch/refund) on a real
// PostgreSQL: many concurrent hits from two "instances" never let more than the limit through, a
// request refused by one key gives back what it took on its other keys, and counts are exact.
// Keys with limits of 40 and more lease slots (limit / 20) and count them in memory: one instance
// still lets exactly the limit through; two never more, and at most (lease - 1) per instance fewer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { hitBatch } from '../../src/db/rate-limit.js';
import { leaseSize, RateLimiter } from '../../src/services/rate-limiter.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';

let db: TestDatabase;
// Hour-long windows counted from a minute before this file started: a test never straddles a boundary.
const W = 3600;
const ORIGIN = Math.floor(Date.now() / 1000) - 60;

beforeAll(async () => {
  db = await startTestDatabase();
  await migrate(db.sql);
});
afterAll(async () => db?.stop());

async function count(key: string): Promise<number> {
  const [row] = await db.sql<{ count: number }[]>`select count from rate_limit_counters where key = ${key}`;
  return row?.count ?? 0;
}

describe('batched rate limits', () => {
  it('hitBatch grants at most the room left and records the count', async () => {
    const first = await hitBatch(db.sql, [{ key: 'k:a', limit: 5, n: 3 }, { key: 'k:b', limit: 2, n: 3 }], W, ORIGIN);
    expect(Object.fromEntries(first.granted)).toEqual({ 'k:a': 3, 'k:b': 2 });
    const second = await hitBatch(db.sql, [{ key: 'k:a', limit: 5, n: 4 }], W, ORIGIN);
    expect(second.granted.get('k:a')).toBe(2);
    expect(second.counts.get('k:a')).toBe(5);
    expect(await count('k:a')).toBe(5);
  });

  it('lets exactly the limit through under concurrency from two instances', async () => {
    const one = new RateLimiter(db.pool(db.url, 3), W, undefined, ORIGIN);
    const two = new RateLimiter(db.pool(db.url, 3), W, undefined, ORIGIN);
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? one : two).hit([{ key: 'player:hot', limit: 25 }])));
    expect(results.filter((r) => r.allowed).length).toBe(25);
    expect(results.filter((r) => !r.allowed).every((r) => r.exceeded[0] === 'player:hot' && r.retryAfterSeconds >= 1)).toBe(true);
    expect(await count('player:hot')).toBe(25);
  });

  it('a request refused by its user limit gives back its player slot', async () => {
    const limiter = new RateLimiter(db.pool(db.url, 2), W, undefined, ORIGIN);
    // the user allows 3 in all; four players ask twice each
    const asks = Array.from({ length: 8 }, (_, i) => limiter.hit([{ key: `player:p${i % 4}`, limit: 10 }, { key: 'user:u', limit: 3 }]));
    const results = await Promise.all(asks);
    expect(results.filter((r) => r.allowed).length).toBe(3);
    expect(results.filter((r) => !r.allowed).every((r) => r.exceeded.includes('user:u'))).toBe(true);
    expect(await count('user:u')).toBe(3);
    // refunds are sent after the answers: wait (with a deadline) until the players' counters hold only allowed hits
    const deadline = Date.now() + 10_000;
    for (;;) {
      const total = (await Promise.all([0, 1, 2, 3].map((i) => count(`player:p${i}`)))).reduce((a, b) => a + b, 0);
      if (total === 3 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const total = (await Promise.all([0, 1, 2, 3].map((i) => count(`player:p${i}`)))).reduce((a, b) => a + b, 0);
    expect(total).toBe(3);
  });

  it('with leases, one instance lets exactly the limit through, counting most hits in memory', async () => {
    const pool = counted(db.pool(db.url, 2));
    const limiter = new RateLimiter(pool.sql, W, undefined, ORIGIN);
    const limit = 200;
    expect(leaseSize(limit)).toBe(10);
    const results = [];
    for (let i = 0; i < 230; i++) results.push(await limiter.hit([{ key: 'leased:one', limit }]));
    expect(results.filter((r) => r.allowed).length).toBe(limit);
    expect(results.slice(limit).every((r) => !r.allowed && r.exceeded[0] === 'leased:one' && r.retryAfterSeconds >= 1)).toBe(true);
    expect(await count('leased:one')).toBe(limit);
    // one statement per lease of 10, and one that finds the key exhausted: not one per hit
    expect(pool.statements()).toBeLessThanOrEqual(limit / 10 + 1);
  });

  it('with leases, two instances together never pass the limit and fall short by at most (lease - 1) each', async () => {
    const one = new RateLimiter(db.pool(db.url, 3), W, undefined, ORIGIN);
    const two = new RateLimiter(db.pool(db.url, 3), W, undefined, ORIGIN);
    const limit = 200;
    const lease = leaseSize(limit);
    // waves of concurrent hits, alternating instances, well past the limit
    let allowed = 0;
    for (let wave = 0; wave < 15; wave++) {
      const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => ((i + wave) % 2 ? one : two).hit([{ key: 'leased:two', limit }, { key: 'leased:two-user', limit: 1000 }])));
      allowed += rs.filter((r) => r.allowed).length;
    }
    expect(await count('leased:two')).toBe(limit);
    expect(allowed).toBeLessThanOrEqual(limit);
    expect(allowed).toBeGreaterThanOrEqual(limit - 2 * (lease - 1));
  });
});

/** The pool, counting the statements sent through it. */
function counted(sql: ReturnType<TestDatabase['pool']>): { sql: ReturnType<TestDatabase['pool']>; statements: () => number } {
  let n = 0;
  const proxy = new Proxy(sql, {
    apply(target, thisArg, args) {
      n += 1;
      return Reflect.apply(target as never, thisArg, args) as unknown;
    },
  });
  return { sql: proxy, statements: () => n };
}
