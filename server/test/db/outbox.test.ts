import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import {
  claimBatch, enqueue, listenForOutbox, markPublished, pendingCount, purgePublished, releaseForRetry,
} from '../../src/db/outbox.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await startTestDatabase();
  await migrate(db.sql);
});
beforeEach(async () => {
  await db.sql`truncate outbox`;
});
afterAll(async () => db?.stop());

const msgs = (n: number, prefix = 't') =>
  Array.from({ length: n }, (_, i) => ({ topic: `makapix/post/new/${prefix}${i}`, payload: { i, title: `post ${i}` } }));

describe('outbox', () => {
  it('enqueues many rows with one statement, in order, and wakes listeners at commit', async () => {
    let wakes = 0;
    let woke!: () => void;
    const wokeUp = new Promise<void>((r) => (woke = r));
    const listener = await listenForOutbox(db.sql, () => {
      wakes++;
      woke();
    });
    const ids = await db.sql.begin(async (tx) => {
      const ids = await enqueue(tx, msgs(3));
      await new Promise((r) => setTimeout(r, 50));
      expect(wakes).toBe(0); // not before commit
      return ids;
    });
    await wokeUp;
    await listener.unlisten();
    expect(ids).toHaveLength(3);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    const rows = await db.sql<{ id: number; topic: string; payload: unknown }[]>`select id, topic, payload from outbox order by id`;
    expect(rows.map((r) => r.id)).toEqual(ids);
    expect(rows.map((r) => r.topic)).toEqual(['makapix/post/new/t0', 'makapix/post/new/t1', 'makapix/post/new/t2']);
    expect(rows[1]!.payload).toEqual({ i: 1, title: 'post 1' });
    expect(await enqueue(db.sql, [])).toEqual([]);
  });

  it('never hands the same row to two concurrent transactions', async () => {
    await enqueue(db.sql, msgs(10));
    const a = db.pool();
    const b = db.pool();
    let bothClaimed!: () => void;
    const gate = new Promise<void>((r) => (bothClaimed = r));
    let claimedCount = 0;
    const claimIn = (s: typeof a) =>
      s.begin(async (tx) => {
        const rows = await claimBatch(tx, 6);
        if (++claimedCount === 2) bothClaimed();
        await gate; // both transactions are open and hold their row locks here
        return rows.map((r) => r.id);
      });
    const [ra, rb] = await Promise.all([claimIn(a), claimIn(b)]);
    expect(ra.filter((id) => rb.includes(id))).toEqual([]);
    expect(ra.length + rb.length).toBe(10);
  });

  it('drains with many concurrent claimers, each row exactly once', async () => {
    await enqueue(db.sql, msgs(200));
    const pools = [db.pool(), db.pool(), db.pool()];
    const seen: number[] = [];
    await Promise.all(
      pools.flatMap((p) => [0, 1].map(async () => {
        for (;;) {
          const batch = await claimBatch(p, 7);
          if (batch.length === 0) return;
          seen.push(...batch.map((m) => m.id));
          await markPublished(p, batch.map((m) => m.id));
        }
      })),
    );
    expect(seen).toHaveLength(200);
    expect(new Set(seen).size).toBe(200);
    expect(await pendingCount(db.sql)).toBe(0);
  });

  it('leases claims: a claimed row returns only after its lease or a release; published rows never', async () => {
    const [id1, id2] = await enqueue(db.sql, msgs(2));
    // an hour-long lease: nobody else gets the rows meanwhile, however slow this machine is
    const first = await claimBatch(db.sql, 10, { leaseSeconds: 3600 });
    expect(first.map((m) => [m.id, m.attempts])).toEqual([[id1, 1], [id2, 1]]);
    expect(await claimBatch(db.sql, 10)).toEqual([]);
    expect(await markPublished(db.sql, [id1!])).toBe(1);
    expect(await markPublished(db.sql, [id1!])).toBe(0);
    // released for a retry without delay: claimable again (with its error kept), id1 never again
    expect(await releaseForRetry(db.sql, [id2!], 'broker down', 0)).toBe(1);
    const [{ last_error }] = await db.sql<{ last_error: string }[]>`select last_error from outbox where id = ${id2!}`;
    expect(last_error).toBe('broker down');
    // a lease of 0 s has run out by the next claim (lease lengths are the claimer's setting; no waiting)
    expect((await claimBatch(db.sql, 10, { leaseSeconds: 0 })).map((m) => [m.id, m.attempts])).toEqual([[id2, 2]]);
    expect((await claimBatch(db.sql, 10)).map((m) => [m.id, m.attempts])).toEqual([[id2, 3]]);
    expect(await claimBatch(db.sql, 10)).toEqual([]);
  });

  it('purges rows published long ago', async () => {
    const [old, fresh] = await enqueue(db.sql, msgs(2));
    await markPublished(db.sql, [old!, fresh!]);
    await db.sql`update outbox set published_at = now() - interval '2 days' where id = ${old!}`;
    expect(await purgePublished(db.sql, 86_400)).toBe(1);
    const left = await db.sql<{ id: number }[]>`select id from outbox`;
    expect(left.map((r) => r.id)).toEqual([fresh]);
  });
});
