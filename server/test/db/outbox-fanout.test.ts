// Fan-out jobs of the outbox (migration 0005, db/outbox.ts): a new post's per-follower messages
// are queued as one job; a publisher leases it, reads chunks of followers straight from `follows`
// after the job's cursor, and moves the cursor (compare-and-set) after publishing a chunk. Real
// PostgreSQL; the jobs are queued by the same code as POST /post (insertPost + enqueueNewPost in one
// transaction). Publishing itself (MQTT) is tested in mqtt/fanout-publisher.test.ts.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { postNewForFollowerTopic, postNewTopic, PostNotificationValidator } from '@makapix/contract/asyncapi/channels';
import type { Sql } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import {
  advanceFanoutJob, FANOUT_PARKED, fanoutFollowers, leaseFanoutJob, listenForOutbox, markPublished, parkFanoutJob, pendingFanoutCount,
  purgePublished, releaseFanoutJobs, type FanoutFollower,
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
const job = async (id: number) => {
  const [row] = await sql<{ after_follower_id: number; expanded: number; done_at: Date | null; claimed_by: string | null; claimed_until: Date | null }[]>`
    select after_follower_id, expanded, done_at, claimed_by, claimed_until from outbox_fanout where id = ${id}`;
  return row!;
};
const ids = (fans: readonly { user_id: string }[]) => fans.map((f) => f.user_id).sort();
const userIds = (chunk: readonly FanoutFollower[]) => chunk.map((f) => f.userId).sort();

/**
 * What a publisher does with the job `owner` leases, without MQTT: reads chunk after chunk and
 * advances the cursor past each. Returns the chunks it advanced past (as if published), or stops
 * when the cursor was moved by someone else.
 */
async function workJob(s: Sql, owner: string, opts: { chunkSize: number; leaseSeconds?: number }): Promise<{ jobId: number; chunks: FanoutFollower[][] } | null> {
  const leased = await leaseFanoutJob(s, { owner, leaseSeconds: opts.leaseSeconds });
  if (!leased) return null;
  const chunks: FanoutFollower[][] = [];
  let after = leased.afterFollowerId;
  for (;;) {
    const chunk = await fanoutFollowers(s, { followeeId: leased.followeeId, afterFollowerId: after }, opts.chunkSize);
    const to = chunk.at(-1)?.followerId ?? after;
    const finished = chunk.length < opts.chunkSize;
    const held = await advanceFanoutJob(s, { id: leased.id, owner, from: after, to, count: chunk.length, finished, leaseSeconds: opts.leaseSeconds });
    if (!held) return { jobId: leased.id, chunks };
    chunks.push(chunk);
    if (finished) return { jobId: leased.id, chunks };
    after = to;
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

  it('wake publishers at commit when a job is queued', async () => {
    let wakes = 0;
    const listener = await listenForOutbox(sql, () => wakes++);
    try {
      const { star } = await followee(2);
      await newPost(star);
      await expect.poll(() => wakes, { timeout: 5000 }).toBeGreaterThan(0);
    } finally {
      await listener.unlisten();
    }
  });

  it('lease a job with its topic parts, payload and cursor, to one owner at a time', async () => {
    const { star } = await followee(3);
    const { post, job: id } = await newPost(star);
    const leased = await leaseFanoutJob(sql, { owner: 'a', leaseSeconds: 3600 });
    const [generic] = await rowsOf(post.post_id);
    expect(leased).toEqual({
      id, postId: post.post_id, followeeId: star.id, topicPrefix: expect.any(String), topicSuffix: expect.any(String),
      payload: generic!.payload, afterFollowerId: 0, done: 0,
    });
    expect(postNewForFollowerTopic.parse(`${leased!.topicPrefix}${star.user_id}${leased!.topicSuffix}`)).toEqual({ follower_id: star.user_id, post_id: post.post_id });
    expect(await job(id!)).toMatchObject({ claimed_by: 'a', claimed_until: expect.any(Date) });
    // Leased: nobody else gets it, its owner does (again).
    expect(await leaseFanoutJob(sql, { owner: 'b' })).toBeNull();
    expect((await leaseFanoutJob(sql, { owner: 'a' }))!.id).toBe(id);
    // The lease runs out (moved into the past rather than waited for): anyone may take it.
    await sql`update outbox_fanout set claimed_until = now() - interval '1 second' where id = ${id!}`;
    expect((await leaseFanoutJob(sql, { owner: 'b' }))!.id).toBe(id);
    expect(await job(id!)).toMatchObject({ claimed_by: 'b' });
  });

  it('read 2,500 followers in keyset chunks of 1,000: each exactly once, nobody else\'s followers', async () => {
    const { star, fans } = await followee(2500);
    const bystander = await followee(5);
    const { job: id } = await newPost(star);
    const worked = await workJob(sql, 'solo', { chunkSize: 1000 });
    expect(worked!.jobId).toBe(id);
    expect(worked!.chunks.map((c) => c.length)).toEqual([1000, 1000, 500]);
    const all = worked!.chunks.flat();
    expect(all.map((f) => f.userId).sort()).toEqual(ids(fans));
    expect(all.map((f) => f.followerId)).toEqual([...all.map((f) => f.followerId)].sort((a, b) => a - b));
    expect(all.some((f) => bystander.fans.some((b) => b.user_id === f.userId))).toBe(false);
    expect(await job(id!)).toMatchObject({
      expanded: 2500, after_follower_id: fans.at(-1)!.id, done_at: expect.any(Date), claimed_by: null, claimed_until: null,
    });
    expect(await leaseFanoutJob(sql, { owner: 'solo' })).toBeNull();
    expect(await pendingFanoutCount(sql)).toBe(0);
  });

  it('finish a job whose followers fill the last chunk exactly with one empty chunk', async () => {
    const { star, fans } = await followee(1000);
    await newPost(star);
    const worked = await workJob(sql, 'solo', { chunkSize: 500 });
    expect(worked!.chunks.map((c) => c.length)).toEqual([500, 500, 0]);
    expect(userIds(worked!.chunks.flat())).toEqual(ids(fans));
  });

  it('refuse to move the cursor for a publisher whose lease was taken over, or from a stale cursor', async () => {
    const { star, fans } = await followee(30);
    const { job: id } = await newPost(star);
    const leased = (await leaseFanoutJob(sql, { owner: 'slow', leaseSeconds: 3600 }))!;
    const chunk = await fanoutFollowers(sql, leased, 10);
    // 'slow' takes too long: its lease runs out and 'heir' resumes from the same cursor.
    await sql`update outbox_fanout set claimed_until = now() - interval '1 second' where id = ${id!}`;
    const heir = (await leaseFanoutJob(sql, { owner: 'heir' }))!;
    expect(heir.afterFollowerId).toBe(0);
    const step = { id: id!, from: 0, to: chunk.at(-1)!.followerId, count: 10, finished: false };
    expect(await advanceFanoutJob(sql, { ...step, owner: 'slow' })).toBe(false);
    expect(await advanceFanoutJob(sql, { ...step, owner: 'heir' })).toBe(true);
    // The same step again (a stale cursor) does nothing, even for the holder.
    expect(await advanceFanoutJob(sql, { ...step, owner: 'heir' })).toBe(false);
    expect(await job(id!)).toMatchObject({ after_follower_id: fans[9]!.id, expanded: 10, claimed_by: 'heir', done_at: null });
  });

  it('six concurrent publishers fighting over the same jobs at every chunk move each cursor past every follower exactly once', async () => {
    const stars = await Promise.all([followee(700), followee(450), followee(1)]);
    const posts: { post: PostRow; job: number | null }[] = [];
    for (const s of stars) posts.push(await newPost(s.star));
    const pools = [db.pool(), db.pool(), db.pool()];
    await Promise.all(pools.map((p) => p`select 1`));
    // lease 0: every lease has run out at once, so every publisher may take any job at any chunk;
    // only the lease statement and the compare-and-set on the cursor keep them apart.
    const worker = async (p: Sql, owner: string) => {
      const got: { jobId: number; chunks: FanoutFollower[][] }[] = [];
      for (let idle = 0; idle < 3;) {
        const w = await workJob(p, owner, { chunkSize: 37, leaseSeconds: 0 });
        if (w === null) idle++;
        else got.push(w);
        if ((await pendingFanoutCount(p)) === 0) break;
      }
      return got;
    };
    const all = (await Promise.all(pools.flatMap((p, i) => [0, 1].map((k) => worker(p, `publisher-${i}-${k}`))))).flat();
    for (const [i, s] of stars.entries()) {
      const advanced = all.filter((w) => w.jobId === posts[i]!.job).flatMap((w) => w.chunks.flat());
      // Every follower advanced past once: no chunk twice, none skipped.
      expect(advanced.map((f) => f.userId).sort()).toEqual(ids(s.fans));
      expect(await job(posts[i]!.job!)).toMatchObject({ expanded: s.fans.length, done_at: expect.any(Date) });
    }
  });

  it('leave a parked job alone until the pause is over', async () => {
    const { star } = await followee(3);
    const { job: id } = await newPost(star);
    const leased = (await leaseFanoutJob(sql, { owner: 'x' }))!;
    expect(await parkFanoutJob(sql, { id: leased.id, owner: 'someone else', delaySeconds: 60 })).toBe(false);
    expect(await parkFanoutJob(sql, { id: leased.id, owner: 'x', delaySeconds: 60 })).toBe(true);
    expect(await job(id!)).toMatchObject({ claimed_by: FANOUT_PARKED, after_follower_id: 0 });
    expect(await leaseFanoutJob(sql, { owner: 'x' })).toBeNull();
    await sql`update outbox_fanout set claimed_until = now() - interval '1 second' where id = ${id!}`;
    expect((await leaseFanoutJob(sql, { owner: 'y' }))!.id).toBe(id);
  });

  it('let a stopping publisher hand its jobs over at once', async () => {
    const { star } = await followee(1200);
    const { job: id } = await newPost(star);
    await leaseFanoutJob(sql, { owner: 'leaving', leaseSeconds: 3600 });
    expect(await leaseFanoutJob(sql, { owner: 'staying' })).toBeNull();
    expect(await releaseFanoutJobs(sql, 'leaving')).toBe(1);
    expect((await leaseFanoutJob(sql, { owner: 'staying' }))!.id).toBe(id);
  });

  it('notify those following when their chunk is read', async () => {
    const { star, fans } = await followee(1500);
    const { job: id } = await newPost(star);
    const leased = (await leaseFanoutJob(sql, { owner: 'x' }))!;
    const first = await fanoutFollowers(sql, leased, 1000);
    expect(await advanceFanoutJob(sql, { id: id!, owner: 'x', from: 0, to: first.at(-1)!.followerId, count: 1000, finished: false })).toBe(true);
    // After the post, before the rest is read: a new user follows (a higher id than every fan, so
    // ahead of the cursor), fan 1200 (not read yet) unfollows, fan 10 (read) unfollows.
    const [late] = await users(1);
    await sql`insert into follows (follower_id, followee_id) values (${late!.id}, ${star.id})`;
    await sql`delete from follows where follower_id = ${fans[1200]!.id} and followee_id = ${star.id}`;
    await sql`delete from follows where follower_id = ${fans[10]!.id} and followee_id = ${star.id}`;
    const rest = await workJob(sql, 'x', { chunkSize: 1000 });
    const expected = [...fans.filter((_, i) => i !== 1200), late!];
    expect(userIds([...first, ...rest!.chunks.flat()])).toEqual(ids(expected));
  });

  it('purge finished jobs with the published rows, never unfinished ones', async () => {
    const a = await followee(3);
    const b = await followee(3);
    const done = await newPost(a.star);
    await workJob(sql, 'x', { chunkSize: 10 });
    const pending = await newPost(b.star);
    await sql`update outbox_fanout set done_at = now() - interval '2 days' where id = ${done.job!}`;
    await sql`update outbox_fanout set created_at = now() - interval '2 days' where id = ${pending.job!}`;
    const rowIds = (await rowsOf(done.post.post_id)).map((r) => r.id);
    await markPublished(sql, rowIds);
    await sql`update outbox set published_at = now() - interval '2 days' where id = any(${rowIds.map(String)}::bigint[])`;
    expect(await purgePublished(sql, 86_400)).toBe(rowIds.length + 1);
    const left = await sql<{ id: number }[]>`select id from outbox_fanout`;
    expect(left.map((r) => r.id)).toEqual([pending.job]);
  });
});
