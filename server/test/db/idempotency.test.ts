import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lookup, purgeOldRequests, remember } from '../../src/db/idempotency.js';
import { migrate } from '../../src/db/migrate.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await startTestDatabase();
  await migrate(db.sql);
});
afterAll(async () => db?.stop());

describe('idempotency records', () => {
  it('returns the first stored response on a second remember', async () => {
    const key = randomUUID();
    expect(await lookup(db.sql, key, 'req-1')).toBeNull();
    const first = { request_id: 'req-1', success: true, error: null, posts: [{ post_id: 1 }] };
    expect(await remember(db.sql, key, 'req-1', first)).toEqual(first);
    const second = await remember(db.sql, key, 'req-1', { request_id: 'req-1', success: false, error: 'late' });
    expect(second).toEqual(first);
    expect(await lookup(db.sql, key, 'req-1')).toEqual(first);
    // Same request id from another player is another request.
    const other = { request_id: 'req-1', success: true, error: null };
    expect(await remember(db.sql, randomUUID(), 'req-1', other)).toEqual(other);
  });

  it('gives two concurrent handlers of one request the same answer', async () => {
    const key = randomUUID();
    const a = db.pool();
    const b = db.pool();
    let releaseA!: () => void;
    const aMayCommit = new Promise<void>((r) => (releaseA = r));
    let aRemembered!: () => void;
    const aHasRemembered = new Promise<void>((r) => (aRemembered = r));
    const txA = a.begin(async (tx) => {
      const stored = await remember(tx, key, 'dup', { who: 'a' });
      aRemembered();
      await aMayCommit;
      return stored;
    });
    await aHasRemembered;
    // b's insert waits on a's uncommitted row, then must return a's answer.
    let bPid!: (pid: number) => void;
    const bStarted = new Promise<number>((r) => (bPid = r));
    const txB = b.begin(async (tx) => {
      const [{ pid }] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
      bPid(pid);
      return remember(tx, key, 'dup', { who: 'b' });
    });
    const pid = await bStarted;
    // a commits only once b is blocked on a's row lock (polled, with a deadline)
    const deadline = Date.now() + 10_000;
    for (;;) {
      const [row] = await db.sql<{ wait: string | null }[]>`select wait_event_type as wait from pg_stat_activity where pid = ${pid}`;
      if (row?.wait === 'Lock') break;
      if (Date.now() > deadline) throw new Error(`b never waited on a's row lock (wait_event_type ${row?.wait})`);
      await new Promise((r) => setTimeout(r, 10));
    }
    releaseA();
    const [ra, rb] = await Promise.all([txA, txB]);
    expect(ra).toEqual({ who: 'a' });
    expect(rb).toEqual({ who: 'a' });
  });

  it('lets a second attempt store its answer when the first one rolled back', async () => {
    const key = randomUUID();
    await db.sql.begin(async (tx) => {
      await remember(tx, key, 'rb', { who: 'first' });
      throw new Error('handler failed');
    }).catch(() => undefined);
    expect(await lookup(db.sql, key, 'rb')).toBeNull();
    expect(await remember(db.sql, key, 'rb', { who: 'second' })).toEqual({ who: 'second' });
  });

  it('purges records by age', async () => {
    const key = randomUUID();
    await remember(db.sql, key, 'old', { x: 1 });
    await remember(db.sql, key, 'new', { x: 2 });
    await db.sql`update mqtt_requests set created_at = now() - interval '2 days' where player_key = ${key} and request_id = 'old'`;
    expect(await purgeOldRequests(db.sql, 86_400)).toBe(1);
    expect(await lookup(db.sql, key, 'old')).toBeNull();
    expect(await lookup(db.sql, key, 'new')).toEqual({ x: 2 });
  });
});
