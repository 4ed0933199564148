// Fan-out jobs of the outbox (migration 0005, db/outbox.ts): a new post's per-follower messages
// are queued as one job and expanded into outbox rows in chunks. Real PostgreSQL; the jobs are
// queued by the same code as POST /post (insertPost + enqueueNewPost in one transaction).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { postNewForFollowerTopic, postNewTopic, PostNotificationValidator } from '@makapix/contract/asyncapi/channels';
import type { Sql } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import {
  expandFanout, expandFanoutChunk, FANOUT_PARKED, listenForOutbox, markPublished, pendingFanoutCount, purgePublished, releaseFanoutJobs,
  type FanoutStep,
} from '../../src/db/outbox.js';
import { insertPost, type PostRow } from '../../src/db/posts.js';
import { enqueueNewPost } from '../../src/services/notifications.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';

let db: TestDatabase;
let sql: Sql;

beforeAll(async () => {
  db = await startTestDatabase();
  sql = db.sql;
  await migrate(sql);
});
beforeEach(async () => {
  await sql`truncate outbox, outbox_fanout`;
});
afterAll(async () => db?.stop());

let userSeq = 0;
interface Account {
  id: number;
  user_id: string;
}

/** `n` users inserted with one statement, ascending ids. */
async function users(n: number): Promise<Account[]> {
  const tag = `u${++userSeq}x`;
  return sql<Account[]>`
    insert into users (handle, email, password_hash)
    select ${tag}::text || g, ${tag}::text || g || '@fanout.test', 'test:no-login' from generate_series(1, ${n}::int) g
    returning id, user_id`;
}

/** A user followed by `n` new users. */
async function followee(n: number): Promise<{ star: Account; fans: Account[] }> {
  const [star] = await users(1);
  const fans = n > 0 ? await users(n) : [];
  await sql`
    insert into follows (follower_id, followee_id)
    select f, ${star!.id} from unnest(${fans.map((f) => String(f.id))}::bigint[]) f`;
  return { star: star!, fans };
}

/** A post by `owner` with its notifications queued in the same transaction, as POST /post does. */
async function newPost(owner: Account): Promise<{ post: PostRow; job: number | null }> {
  return sql.begin(async (tx) => {
    const post = await insertPost(tx, {
      ownerId: owner.id, title: 'Fan-out', artUrl: 'https://cdn.example.test/a.png', canvas: '8x8',
      width: 8, height: 8, frameCount: 1, hasTransparency: false,
    });
    const queued = await enqueueNewPost(tx, post);
    expect(queued.messages).toBe(1);
    return { post, job: queued.fanoutJob };
  });
}

interface Row {
  id: number;
  topic: string;
  payload: unknown;
}
const rowsOf = (postId: number) =>
  sql<Row[]>`select id, topic, payload from outbox where payload ->> 'post_id' = ${String(postId)} order by id`;
const followerTopics = (postId: number, fans: readonly Account[]) =>
  fans.map((f) => postNewForFollowerTopic.format({ follower_id: f.user_id, post_id: postId })).sort();
const followerRows = async (postId: number) => (await rowsOf(postId)).filter((r) => postNewForFollowerTopic.matches(r.topic));
const job = async (id: number) => {
  const [row] = await sql<{ after_follower_id: number; expanded: number; done_at: Date | null; claimed_by: string | null; claimed_until: Date | null }[]>`
    select after_follower_id, expanded, done_at, claimed_by, claimed_until from outbox_fanout where id = ${id}`;
  return row!;
};

/** Expands until there is nothing left for `owner`; returns the steps. */
async function expandAll(s: Sql, owner: string, opts: { chunkSize?: number; leaseSeconds?: number } = {}): Promise<FanoutStep[]> {
  const steps: FanoutStep[] = [];
  for (;;) {
    const step = await expandFanout(s, { owner, ...opts });
    if (!step) return steps;
    steps.push(step);
  }
}

describe('fan-out jobs', () => {
  it('queue one job per post (not one row per follower), and nothing for a user without followers', async () => {
    const { star } = await followee(3);
    const { post, job: id } = await newPost(star);
    expect(id).toEqual(expect.any(Number));
    const rows = await rowsOf(post.post_id);
    expect(rows.map((r) => r.topic)).toEqual([postNewTopic.format({ post_id: post.post_id })]);
    expect(PostNotificationValidator.check(rows[0]!.payload)).toBe(true);
    const [stored] = await sql<{ post_id: number; followee_id: number; payload: unknown; expanded: number }[]>`
      select post_id, followee_id, payload, expanded from outbox_fanout where id = ${id!}`;
    expect(stored).toEqual({ post_id: post.post_id, followee_id: star.id, payload: rows[0]!.payload, expanded: 0 });

    const [loner] = await users(1);
    const other = await newPost(loner!);
    expect(other.job).toBeNull();
    expect(await rowsOf(other.post.post_id)).toHaveLength(1);
    expect(await pendingFanoutCount(sql)).toBe(1);
  });

  it('wake publishers at commit when a job is queued, and when a chunk is expanded', async () => {
    let wakes = 0;
    const listener = await listenForOutbox(sql, () => wakes++);
    try {
      const { star } = await followee(2);
      await newPost(star);
      await expect.poll(() => wakes, { timeout: 5000 }).toBeGreaterThan(0);
      const before = wakes;
      await expandFanout(sql, { owner: 'a' });
      await expect.poll(() => wakes, { timeout: 5000 }).toBeGreaterThan(before);
    } finally {
      await listener.unlisten();
    }
  });

  it('expand 2,500 followers into exactly 2,500 rows in chunks of 1,000, with the right topics and the payload', async () => {
    const { star, fans } = await followee(2500);
    const bystander = await followee(5); // another user's followers get nothing from this post
    const { post, job: id } = await newPost(star);
    const steps = await expandAll(sql, 'solo');
    expect(steps.map((s) => [s.jobId, s.inserted, s.done])).toEqual([[id, 1000, false], [id, 1000, false], [id, 500, true]]);
    const rows = await followerRows(post.post_id);
    expect(rows).toHaveLength(2500);
    expect(rows.map((r) => r.topic).sort()).toEqual(followerTopics(post.post_id, fans));
    expect(rows.some((r) => bystander.fans.some((f) => r.topic.includes(f.user_id)))).toBe(false);
    const [generic] = await rowsOf(post.post_id);
    for (const r of rows) expect(r.payload).toEqual(generic!.payload);
    expect(await job(id!)).toMatchObject({
      expanded: 2500, after_follower_id: fans.at(-1)!.id, done_at: expect.any(Date), claimed_by: null, claimed_until: null,
    });
    expect(await expandFanout(sql, { owner: 'solo' })).toBeNull();
    expect(await pendingFanoutCount(sql)).toBe(0);
  });

  it('finish a job whose followers fill the last chunk exactly with one empty chunk', async () => {
    const { star, fans } = await followee(1000);
    const { post } = await newPost(star);
    const steps = await expandAll(sql, 'solo', { chunkSize: 500 });
    expect(steps.map((s) => [s.inserted, s.done])).toEqual([[500, false], [500, false], [0, true]]);
    expect((await followerRows(post.post_id)).map((r) => r.topic).sort()).toEqual(followerTopics(post.post_id, fans));
  });

  it('never let two open transactions expand the same job: the second one skips it', async () => {
    const a = await followee(30);
    const b = await followee(30);
    const first = await newPost(a.star);
    const second = await newPost(b.star);
    const [p1, p2] = [db.pool(), db.pool()];
    let inside!: () => void;
    const aInside = new Promise<void>((r) => (inside = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const holder = p1.begin(async (tx) => {
      const step = await expandFanoutChunk(tx, { owner: 'one', chunkSize: 10 });
      inside();
      await gate; // the job row stays locked until this commits
      return step;
    });
    await aInside;
    // 'one' holds job 1 locked (and its lease is not even visible yet): 'two' gets job 2.
    const other = await expandFanout(p2, { owner: 'two', chunkSize: 10, leaseSeconds: 0 });
    expect(other!.jobId).toBe(second.job);
    // 'one' itself, in another transaction, skips the job its open chunk holds (and takes job 2,
    // whose zero lease has run out).
    expect((await expandFanout(p2, { owner: 'one', chunkSize: 10 }))!.jobId).toBe(second.job);
    expect(await followerRows(first.post.post_id)).toHaveLength(0);
    release();
    expect((await holder)!.jobId).toBe(first.job);
    expect(await followerRows(first.post.post_id)).toHaveLength(10);
    expect(await followerRows(second.post.post_id)).toHaveLength(20);
  });

  it('six concurrent expanders fighting over the same jobs at every chunk never duplicate or skip a follower', async () => {
    const stars = await Promise.all([followee(700), followee(450), followee(1)]);
    const posts = [];
    for (const s of stars) posts.push(await newPost(s.star));
    const pools = [db.pool(), db.pool(), db.pool()];
    await Promise.all(pools.map((p) => p`select 1`));
    // lease 0: every lease has run out by the next chunk, so every expander may take any job at any
    // chunk; only the row lock and the progress keep them apart.
    const all = await Promise.all(pools.flatMap((p, i) => [0, 1].map((k) => expandAll(p, `expander-${i}-${k}`, { chunkSize: 37, leaseSeconds: 0 }))));
    for (const [i, s] of stars.entries()) {
      const rows = await followerRows(posts[i]!.post.post_id);
      expect(rows.map((r) => r.topic).sort()).toEqual(followerTopics(posts[i]!.post.post_id, s.fans));
      expect((await job(posts[i]!.job!)).expanded).toBe(s.fans.length);
    }
    const inserted = all.flat().reduce((n, s) => n + s.inserted, 0);
    expect(inserted).toBe(700 + 450 + 1);
    expect(all.flat().filter((s) => s.done)).toHaveLength(3);
  });

  it('resume a job whose lease ran out mid-way (its expander died between chunks), without duplicates', async () => {
    const { star, fans } = await followee(2500);
    const { post, job: id } = await newPost(star);
    const first = await expandFanout(sql, { owner: 'dies', leaseSeconds: 3600 });
    expect(first).toMatchObject({ jobId: id, inserted: 1000, done: false });
    expect(await job(id!)).toMatchObject({ claimed_by: 'dies', expanded: 1000, after_follower_id: fans[999]!.id });
    // Leased: nobody else takes it yet.
    expect(await expandFanout(sql, { owner: 'heir' })).toBeNull();
    // The lease runs out (moved into the past rather than waited for).
    await sql`update outbox_fanout set claimed_until = now() - interval '1 second' where id = ${id!}`;
    const second = await expandFanout(sql, { owner: 'heir' });
    expect(second).toMatchObject({ jobId: id, inserted: 1000, done: false });
    // The heir holds the lease now: the first expander, were it alive after all, does not get it back.
    expect(await expandFanout(sql, { owner: 'dies' })).toBeNull();
    expect((await expandAll(sql, 'heir')).map((s) => [s.inserted, s.done])).toEqual([[500, true]]);
    const rows = await followerRows(post.post_id);
    expect(rows.map((r) => r.topic).sort()).toEqual(followerTopics(post.post_id, fans));
  });

  it('roll a chunk back whole when its transaction fails, and resume from the same follower', async () => {
    const { star, fans } = await followee(1500);
    const { post, job: id } = await newPost(star);
    await expandFanout(sql, { owner: 'x' });
    await expect(sql.begin(async (tx) => {
      const step = await expandFanoutChunk(tx, { owner: 'x' });
      expect(step!.inserted).toBe(500);
      throw new Error('instance died inside the chunk');
    })).rejects.toThrow('instance died');
    expect(await followerRows(post.post_id)).toHaveLength(1000);
    expect(await job(id!)).toMatchObject({ expanded: 1000, done_at: null, after_follower_id: fans[999]!.id });
    expect((await expandAll(sql, 'x')).map((s) => s.inserted)).toEqual([500]);
    expect((await followerRows(post.post_id)).map((r) => r.topic).sort()).toEqual(followerTopics(post.post_id, fans));
  });

  it('set a job aside when its chunk fails, go on with newer jobs, and retry it once the pause is over', async () => {
    // A trigger refuses outbox rows of one post: every chunk of its job fails.
    const bad = await followee(3);
    const good = await followee(2);
    const poisoned = await newPost(bad.star);
    const healthy = await newPost(good.star);
    await sql.unsafe(`
      create function refuse_poisoned_rows() returns trigger language plpgsql as $$
      begin
        if new.payload ->> 'post_id' = '${poisoned.post.post_id}' then raise exception 'poisoned row'; end if;
        return new;
      end $$;
      create trigger refuse_poisoned_rows before insert on outbox for each row execute function refuse_poisoned_rows();`);
    try {
      const first = await expandFanout(sql, { owner: 'x', retrySeconds: 60 });
      expect(first).toMatchObject({ jobId: poisoned.job, inserted: 0, done: false, error: expect.stringContaining('poisoned row') });
      expect(await job(poisoned.job!)).toMatchObject({ expanded: 0, done_at: null, claimed_by: FANOUT_PARKED });
      // the next call (any expander, this one included) goes on with the newer job
      expect(await expandFanout(sql, { owner: 'x' })).toMatchObject({ jobId: healthy.job, inserted: 2, done: true });
      expect(await expandFanout(sql, { owner: 'x' })).toBeNull();
      expect(await followerRows(poisoned.post.post_id)).toEqual([]);
    } finally {
      await sql.unsafe('drop trigger refuse_poisoned_rows on outbox; drop function refuse_poisoned_rows();');
    }
    // once the pause is over, the job is expanded
    await sql`update outbox_fanout set claimed_until = now() - interval '1 second' where id = ${poisoned.job}`;
    expect(await expandFanout(sql, { owner: 'y' })).toMatchObject({ jobId: poisoned.job, inserted: 3, done: true });
    expect((await followerRows(poisoned.post.post_id)).map((r) => r.topic).sort()).toEqual(followerTopics(poisoned.post.post_id, bad.fans));
  });

  it('let a stopping expander hand its jobs over at once', async () => {
    const { star } = await followee(1200);
    const { job: id } = await newPost(star);
    await expandFanout(sql, { owner: 'leaving', leaseSeconds: 3600 });
    expect(await expandFanout(sql, { owner: 'staying' })).toBeNull();
    expect(await releaseFanoutJobs(sql, 'leaving')).toBe(1);
    expect(await expandFanout(sql, { owner: 'staying' })).toMatchObject({ jobId: id, inserted: 200, done: true });
  });

  it('notify those following when their chunk is expanded', async () => {
    const { star, fans } = await followee(1500);
    const { post } = await newPost(star);
    await expandFanout(sql, { owner: 'x' }); // the first 1000 fans
    // After the post, before the rest is expanded: a new user follows (a higher id than every fan,
    // so ahead of the progress), fan 1200 (not expanded yet) unfollows, fan 10 (expanded) unfollows.
    const [late] = await users(1);
    await sql`insert into follows (follower_id, followee_id) values (${late!.id}, ${star.id})`;
    await sql`delete from follows where follower_id = ${fans[1200]!.id} and followee_id = ${star.id}`;
    await sql`delete from follows where follower_id = ${fans[10]!.id} and followee_id = ${star.id}`;
    await expandAll(sql, 'x');
    const expected = [...fans.filter((_, i) => i !== 1200), late!];
    expect((await followerRows(post.post_id)).map((r) => r.topic).sort()).toEqual(followerTopics(post.post_id, expected));
  });

  it('purge finished jobs with the published rows, never unfinished ones', async () => {
    const a = await followee(3);
    const b = await followee(3);
    const done = await newPost(a.star);
    await expandAll(sql, 'x');
    const pending = await newPost(b.star);
    await sql`update outbox_fanout set done_at = now() - interval '2 days' where id = ${done.job!}`;
    await sql`update outbox_fanout set created_at = now() - interval '2 days' where id = ${pending.job!}`;
    const ids = (await rowsOf(done.post.post_id)).map((r) => r.id);
    await markPublished(sql, ids);
    await sql`update outbox set published_at = now() - interval '2 days' where id = any(${ids.map(String)}::bigint[])`;
    expect(await purgePublished(sql, 86_400)).toBe(ids.length + 1);
    const left = await sql<{ id: number }[]>`select id from outbox_fanout`;
    expect(left.map((r) => r.id)).toEqual([pending.job]);
  });
});
