// The Coalescer: the first read of a key runs at once, identical reads arriving meanwhile share the
// next run (never the one already running: so each caller sees what was committed before it asked),
// other keys do not wait, and a failed run rejects exactly its own callers. Then, on a real
// database, identical feed reads share one statement and answer what a plain read answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryFeed, queryFeedCoalesced, type FeedQuery } from '../../src/db/feed.js';
import { Coalescer } from '../../src/services/coalescer.js';
import { createPost, createUser } from '../support/fixtures.js';
import { startStack, type Stack } from '../support/stack.js';

function gate(): { open: () => void; wait: Promise<void> } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { open, wait };
}

describe('Coalescer', () => {
  it('runs the first read alone; reads arriving while it runs share the next run', async () => {
    const c = new Coalescer<string>();
    const g = gate();
    let runs = 0;
    const read = async () => {
      runs++;
      const n = runs;
      if (n === 1) await g.wait;
      return `run ${n}`;
    };
    const first = c.run('k', read);
    const later = [c.run('k', read), c.run('k', read), c.run('k', read)];
    g.open();
    expect(await first).toBe('run 1');
    expect(await Promise.all(later)).toEqual(['run 2', 'run 2', 'run 2']);
    expect(c.stats).toEqual({ runs: 2, callers: 4 });
  });

  it('does not make one key wait for another', async () => {
    const c = new Coalescer<string>();
    const slow = gate();
    const a = c.run('slow', async () => {
      await slow.wait;
      return 'slow';
    });
    expect(await c.run('fast', async () => 'fast')).toBe('fast');
    slow.open();
    expect(await a).toBe('slow');
  });

  it('rejects exactly the callers of a failed run; the next run still happens', async () => {
    const c = new Coalescer<number>();
    const g = gate();
    let runs = 0;
    const read = async () => {
      runs++;
      if (runs === 1) {
        await g.wait;
        throw new Error('boom');
      }
      return runs;
    };
    const first = c.run('k', read);
    const second = c.run('k', read);
    g.open();
    await expect(first).rejects.toThrow('boom');
    expect(await second).toBe(2);
  });
});

describe('queryFeedCoalesced on a real database', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ workers: false });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it('answers identical reads arriving together with one statement and the rows a plain read gives', async () => {
    const sql = stack.server.ctx.sql;
    const owner = await createUser(stack);
    for (let i = 0; i < 5; i++) await createPost(sql, owner.id, { title: `c${i}` });
    const q: FeedQuery = { channel: 'user', ownerId: owner.id, sort: 'server_order', limit: 3, moderator: false };
    // a runs at once; b and d arrive while it runs and share the next statement
    const [a, b, c, d] = await Promise.all([queryFeedCoalesced(sql, q), queryFeedCoalesced(sql, q), queryFeedCoalesced(sql, { ...q, limit: 2 }), queryFeedCoalesced(sql, q)]);
    const plain = await queryFeed(sql, q);
    expect(a).toEqual(plain);
    expect(b).toEqual(plain);
    expect(d).toBe(b); // one statement, one shared result
    expect(c.map((r) => r.post_id)).toEqual(plain.slice(0, 2).map((r) => r.post_id));
  });
});
