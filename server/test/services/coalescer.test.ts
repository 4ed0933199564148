// The Coalescer: the first read of a key runs at once, identical reads arriving meanwhile share the
// next run (never the one already running: so each caller sees what was committed before it asked),
// other keys do not wait, and a failed run rejects exactly its own callers. Then, on a real
// database, identical feed reads share one statement and answer what a plain read answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { feedBatchStats, queryFeed, queryFeedBatch, queryFeedCoalesced, type FeedEntry, type FeedPosition, type FeedQuery } from '../../src/db/feed.js';
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

  it('answers different queries of one shape with one statement, each exactly as a plain read', async () => {
    const sql = stack.server.ctx.sql;
    const [a, b] = [await createUser(stack), await createUser(stack)];
    const t0 = Date.parse('2026-11-01T00:00:00Z');
    for (let i = 0; i < 14; i++) {
      await createPost(sql, i % 2 === 0 ? a.id : b.id, {
        title: `batch ${i}`,
        // equal times for some posts: the id breaks the tie
        created_at: new Date(t0 + Math.floor(i / 2) * 60_000 + 0.123),
        hashtags: i % 3 === 0 ? ['pixel'] : ['other'],
        promoted_category: i % 4 === 0 ? 'frontpage' : undefined,
        visible: i !== 5,
        hidden_by_mod: i === 7,
        deleted: i === 9,
      });
    }
    const positionAfter = (q: FeedQuery, row: FeedEntry): FeedPosition =>
      q.sort === 'server_order' ? { sort: 'server_order', postId: row.post_id }
      : q.sort === 'created_at' ? { sort: 'created_at', createdAt: row.created_key, postId: row.post_id }
      : { sort: 'random', rank: row.rank!, postId: row.post_id };
    const channels: Pick<FeedQuery, 'channel' | 'ownerId' | 'hashtag'>[][] = [
      [{ channel: 'all' }], [{ channel: 'artwork' }], [{ channel: 'promoted' }],
      [{ channel: 'user', ownerId: a.id }, { channel: 'user', ownerId: b.id }],
      [{ channel: 'by_user', ownerId: b.id }, { channel: 'by_user', ownerId: a.id }],
      [{ channel: 'hashtag', hashtag: 'pixel' }, { channel: 'hashtag', hashtag: 'other' }, { channel: 'hashtag', hashtag: 'none' }],
    ];
    let compared = 0;
    for (const sort of ['server_order', 'created_at', 'random'] as const) {
      for (const moderator of [false, true]) {
        for (const variants of channels) {
          // first pages with different limits and seeds, then the second page of each
          const firsts: FeedQuery[] = variants.flatMap((v, k) => [2, 5].map((limit, j) => ({ ...v, sort, limit, moderator, ...(sort === 'random' ? { seed: 1000 * k + 17 * j + 3 } : {}) })));
          const plainFirsts = await Promise.all(firsts.map((q) => queryFeed(sql, q)));
          const seconds: FeedQuery[] = firsts.flatMap((q, k) => {
            const last = plainFirsts[k]!.at(-1);
            return last === undefined ? [] : [{ ...q, after: positionAfter(q, last) }];
          });
          const all = [...firsts, ...seconds];
          const batched = await queryFeedBatch(sql, all);
          const plain = await Promise.all(all.map((q) => queryFeed(sql, q)));
          expect(batched.length).toBe(all.length);
          all.forEach((q, k) => {
            expect(batched[k], JSON.stringify(q)).toEqual(plain[k]);
            compared++;
          });
        }
      }
    }
    expect(compared).toBeGreaterThan(100);
    // the rows differ between queries (a batch that answered every query alike would fail above too)
    const pages = await queryFeedBatch(sql, [
      { channel: 'all', sort: 'random', seed: 1, limit: 100, moderator: false },
      { channel: 'all', sort: 'random', seed: 2, limit: 100, moderator: false },
    ]);
    expect(pages[0]!.map((r) => r.post_id)).not.toEqual(pages[1]!.map((r) => r.post_id));
    expect(new Set(pages[0]!.map((r) => r.post_id))).toEqual(new Set(pages[1]!.map((r) => r.post_id)));
    // queries of different shapes are never mixed in one statement
    await expect(queryFeedBatch(sql, [
      { channel: 'all', sort: 'random', seed: 1, limit: 2, moderator: false },
      { channel: 'all', sort: 'server_order', limit: 2, moderator: false },
    ])).rejects.toThrow(/mixes/);
  });

  it('serves different queries arriving together through one batched statement', async () => {
    const sql = stack.server.ctx.sql;
    const owner = await createUser(stack);
    for (let i = 0; i < 6; i++) await createPost(sql, owner.id, { title: `together ${i}` });
    const qs: FeedQuery[] = Array.from({ length: 8 }, (_, k) => ({ channel: 'user', ownerId: owner.id, sort: 'random', seed: k + 1, limit: 3, moderator: false }));
    const before = feedBatchStats(sql);
    const got = await Promise.all(qs.map((q) => queryFeedCoalesced(sql, q)));
    const after = feedBatchStats(sql);
    for (const [k, q] of qs.entries()) expect(got[k], JSON.stringify(q)).toEqual(await queryFeed(sql, q));
    // the first runs alone, the seven arriving meanwhile share the next statement
    expect(after.queries - before.queries).toBe(8);
    expect(after.statements - before.statements).toBe(2);
  });
});
