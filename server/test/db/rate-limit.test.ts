import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { hit, purgeExpiredRateLimits, rateLimitKeys } from '../../src/db/rate-limit.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';

let db: TestDatabase;
let a: Sql;
let b: Sql;
// Hour-long windows counted from a minute before this file started: no test straddles a window
// boundary, whatever the time of day.
const W = 3600;
const ORIGIN = Math.floor(Date.now() / 1000) - 60;

beforeAll(async () => {
  db = await startTestDatabase();
  await migrate(db.sql);
  a = db.pool(db.url, 3);
  b = db.pool(db.url, 3);
});
afterAll(async () => db?.stop());

describe('rate limits', () => {
  it('counts across connections and refuses the (limit+1)th hit with a retry-after', async () => {
    const key = 'player:one';
    for (let i = 1; i <= 5; i++) {
      const r = await hit(i % 2 ? a : b, [{ key, limit: 5 }], W, ORIGIN);
      expect(r).toMatchObject({ allowed: true, counts: { [key]: i }, exceeded: [] });
    }
    const refused = await hit(b, [{ key, limit: 5 }], W, ORIGIN);
    expect(refused.allowed).toBe(false);
    expect(refused.exceeded).toEqual([key]);
    expect(refused.counts[key]).toBe(5);
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(W);
    const [{ count }] = await db.sql<{ count: number }[]>`select count from rate_limit_counters where key = ${key}`;
    expect(count).toBe(5);
  });

  it('never lets more than the limit through under concurrency', async () => {
    const key = 'player:concurrent';
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => hit(i % 2 ? a : b, [{ key, limit: 10 }], W, ORIGIN)));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
    const [{ count }] = await db.sql<{ count: number }[]>`select count from rate_limit_counters where key = ${key}`;
    expect(count).toBe(10);
  });

  it('checks the player and user limits together; a refused hit uses no budget', async () => {
    const player = rateLimitKeys.player('p1');
    const other = rateLimitKeys.player('p2');
    const user = rateLimitKeys.user('u1');
    const keys = (p: string) => [{ key: p, limit: 3 }, { key: user, limit: 5 }];
    for (let i = 0; i < 3; i++) expect((await hit(a, keys(player), W, ORIGIN)).allowed).toBe(true);
    const r = await hit(a, keys(player), W, ORIGIN);
    expect(r).toMatchObject({ allowed: false, exceeded: [player], counts: { [player]: 3, [user]: 3 } });
    // The refused hits did not count against the user: the other player still gets 2.
    expect((await hit(b, keys(other), W, ORIGIN)).allowed).toBe(true);
    expect((await hit(b, keys(other), W, ORIGIN)).allowed).toBe(true);
    const userFull = await hit(b, keys(other), W, ORIGIN);
    expect(userFull).toMatchObject({ allowed: false, exceeded: [user], counts: { [other]: 2, [user]: 5 } });
  });

  it('uses the default 60 s window and validates its input', async () => {
    const r = await hit(a, [{ key: 'w60', limit: 1 }]);
    expect(r.allowed).toBe(true);
    expect(r.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(r.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(await hit(a, [], 60)).toMatchObject({ allowed: true, counts: {} });
    await expect(hit(a, [{ key: 'x', limit: 0 }])).rejects.toThrow(/positive integer/);
    await expect(hit(a, [{ key: 'x', limit: 1 }], 0)).rejects.toThrow(/window/);
    await expect(hit(a, [{ key: 'x', limit: 1 }], 60, -1)).rejects.toThrow(/origin/);
  });

  it('counts windows from the given origin', async () => {
    const origin = Math.floor(Date.now() / 1000) - 10;
    const first = await hit(a, [{ key: 'origin', limit: 1 }], W, origin);
    expect(first.allowed).toBe(true);
    // the window started about 10 s ago, not on the clock's hour
    expect(first.retryAfterSeconds).toBeGreaterThan(W - 10 - 60);
    expect(first.retryAfterSeconds).toBeLessThanOrEqual(W - 10 + 1);
    const [row] = await db.sql<{ start: number }[]>`select extract(epoch from window_start)::int as start from rate_limit_counters where key = 'origin'`;
    expect(row!.start).toBe(origin);
    expect((await hit(b, [{ key: 'origin', limit: 1 }], W, origin)).allowed).toBe(false);
  });

  it('purges windows that have ended', async () => {
    await db.sql`insert into rate_limit_counters (key, window_start, count, expires_at)
                 values ('old', now() - interval '2 hours', 3, now() - interval '1 hour')`;
    await hit(a, [{ key: 'live', limit: 1 }], W, ORIGIN);
    // at least the old row (a 60 s window of another test may have ended too)
    expect(await purgeExpiredRateLimits(a)).toBeGreaterThanOrEqual(1);
    expect(await db.sql`select 1 from rate_limit_counters where key = 'old'`).toHaveLength(0);
    expect(await db.sql`select 1 from rate_limit_counters where key = 'live'`).toHaveLength(1);
  });
});
