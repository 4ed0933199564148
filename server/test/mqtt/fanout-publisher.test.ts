// The outbox publisher's fan-out (mqtt/outbox-publisher.ts, db/outbox.ts) against a real broker and
// database: a new post's job is published straight from `follows`, in chunks, each chunk's cursor
// moved only after the broker acknowledged all of it. Publishers are started directly on the
// context of a server without workers, so that a test decides how many there are, their chunk
// size, and when they stop. A real subscriber counts the messages each follower topic receives.
//
// Delivery is at-least-once: a publisher that dies inside a chunk leaves that chunk to be
// published again, so the followers of that one chunk may get the message twice; every other
// follower gets it exactly once, and nobody is skipped.
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postNewForFollower, postNewForFollowerTopic, postNewTopic } from '@makapix/contract/asyncapi/channels';
import { FANOUT_PARKED, leaseFanoutJob, OUTBOX_CHANNEL } from '../../src/db/outbox.js';
import { startOutboxPublisher, type OutboxPublisher } from '../../src/mqtt/outbox-publisher.js';
import { createUser, type FixtureUser } from '../support/fixtures.js';
import { connectInternal, startStack, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';
import { createPostAs } from '../rest/helpers.js';

let stack: Stack;
const publishers: OutboxPublisher[] = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  stack = await startStack({ workers: false });
}, 60_000);
afterEach(async () => {
  for (const p of publishers.splice(0)) await p.stop();
});
afterAll(async () => {
  for (const c of clients) await c.endAsync(true);
  await stack?.stop();
});

const sql = () => stack.server.ctx.sql;

async function publisher(fanoutChunk: number, fanoutLeaseSeconds?: number): Promise<OutboxPublisher> {
  const p = await startOutboxPublisher(stack.server.ctx, { pollSeconds: 3600, fanoutChunk, ...(fanoutLeaseSeconds ? { fanoutLeaseSeconds } : {}) });
  publishers.push(p);
  return p;
}

/** A user followed by `n` new users (ascending follows.follower_id). */
async function followee(n: number): Promise<{ star: FixtureUser; fans: { id: number; user_id: string }[] }> {
  const star = await createUser(stack);
  const fans = await sql()<{ id: number; user_id: string }[]>`
    insert into users (handle, email, password_hash)
    select 'fan' || ${star.id}::text || 'x' || g, 'fan' || ${star.id}::text || 'x' || g || '@fanout.test', 'test:no-login'
    from generate_series(1, ${n}::int) g
    returning id, user_id`;
  await sql()`insert into follows (follower_id, followee_id) select f, ${star.id} from unnest(${fans.map((f) => String(f.id))}::bigint[]) f`;
  return { star, fans };
}

const jobOf = async (postId: number) => {
  const [row] = await sql()<{ id: number; after_follower_id: number; expanded: number; done_at: Date | null; claimed_by: string | null }[]>`
    select id, after_follower_id, expanded, done_at, claimed_by from outbox_fanout where post_id = ${postId}`;
  return row!;
};

/**
 * Creates a post by `author` through the API, having subscribed to every post's follower topics and
 * generic topic first (the post id is not known before): counts, per follower, that post's messages.
 */
async function postWatched(author: FixtureUser, title: string) {
  const client = await connectInternal(stack);
  clients.push(client);
  const perFollower = new Map<string, Map<number, number>>();
  const generic = new Map<number, unknown>();
  const payloads = new Map<number, unknown>();
  client.on('message', (topic, buf) => {
    const params = postNewForFollowerTopic.parse(topic);
    if (params) {
      const m = perFollower.get(params.follower_id) ?? new Map<number, number>();
      m.set(params.post_id, (m.get(params.post_id) ?? 0) + 1);
      perFollower.set(params.follower_id, m);
      if (!payloads.has(params.post_id)) payloads.set(params.post_id, JSON.parse(buf.toString('utf8')));
      return;
    }
    const g = postNewTopic.parse(topic);
    if (g) generic.set(g.post_id, JSON.parse(buf.toString('utf8')));
  });
  await client.subscribeAsync(postNewForFollowerTopic.filter({}), { qos: 1 });
  await client.subscribeAsync(postNewTopic.filter({}), { qos: 1 });
  const post = await createPostAs(stack.api, author, { title });
  const counts = (postId = post.post_id) => {
    const out = new Map<string, number>();
    for (const [follower, m] of perFollower) if (m.has(postId)) out.set(follower, m.get(postId)!);
    return out;
  };
  return { post, counts, generic: () => generic.get(post.post_id), firstPayload: () => payloads.get(post.post_id) };
}

describe('fan-out publishing', () => {
  it('sends every one of 2,500 followers exactly one message, over several chunks, with the generic message\'s payload', async () => {
    const { star, fans } = await followee(2500);
    const bystander = await followee(3);
    const before = await stack.server.ctx.metrics.value('makapix_notifications_published_total', { channel: postNewForFollower.id });
    await publisher(1000);
    const { post, counts, generic, firstPayload } = await postWatched(star, 'Chunks');
    await until('every follower notified', () => counts().size === 2500 && generic() !== undefined);
    await until('the job finished', async () => (await jobOf(post.post_id)).done_at !== null);
    const got = counts();
    expect([...got.keys()].sort()).toEqual(fans.map((f) => f.user_id).sort());
    expect([...got.values()].every((n) => n === 1)).toBe(true);
    expect(bystander.fans.some((f) => got.has(f.user_id))).toBe(false);
    expect(firstPayload()).toEqual(generic());
    expect(await jobOf(post.post_id)).toMatchObject({ expanded: 2500, after_follower_id: fans.at(-1)!.id, claimed_by: null });
    // No row per follower; the metrics count each message once.
    const [rows] = await sql()<{ n: number }[]>`select count(*) as n from outbox where payload ->> 'post_id' = ${String(post.post_id)}`;
    expect(rows!.n).toBe(1);
    expect(await stack.server.ctx.metrics.value('makapix_notifications_published_total', { channel: postNewForFollower.id })).toBe(before + 2500);
  });

  it('lets a publisher stopped between chunks hand the job over: the next one resumes at the cursor, nobody lost or repeated', async () => {
    const { star, fans } = await followee(2500);
    const first = await publisher(100);
    const { post, counts } = await postWatched(star, 'Stopped');
    await until('the first chunks published', async () => (await jobOf(post.post_id)).after_follower_id > 0);
    // Hold the job row: the publisher's next cursor move waits, so it is stopped between two chunks.
    let locked!: (cursor: { after_follower_id: number; done_at: Date | null }) => void;
    const lockedAt = new Promise<{ after_follower_id: number; done_at: Date | null }>((r) => (locked = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const holder = sql().begin(async (tx) => {
      const [row] = await tx<{ after_follower_id: number; done_at: Date | null }[]>`
        select after_follower_id, done_at from outbox_fanout where post_id = ${post.post_id} for update`;
      locked(row!);
      await gate;
    });
    const atLock = await lockedAt;
    expect(atLock.done_at).toBeNull(); // mid-job (25 chunks of 100)
    const stopping = first.stop();
    release();
    await holder;
    await stopping;
    const handedOver = await jobOf(post.post_id);
    expect(handedOver).toMatchObject({ done_at: null, claimed_by: null });
    expect(handedOver.expanded).toBeLessThan(2500);
    // What the stopped publisher sent is exactly the followers up to the cursor.
    await until('the stopped publisher\'s messages received', () => counts().size === handedOver.expanded);

    await publisher(100);
    await until('every follower notified', () => counts().size === 2500);
    await until('the job finished', async () => (await jobOf(post.post_id)).done_at !== null);
    const got = counts();
    expect([...got.keys()].sort()).toEqual(fans.map((f) => f.user_id).sort());
    expect([...got.values()].every((n) => n === 1)).toBe(true);
  });

  it('leaves a job alone while another publisher\'s lease holds, and resumes it at the cursor once the lease runs out', async () => {
    const { star, fans } = await followee(600);
    // A publisher that is about to die leases the job first (no live publisher runs yet), moves the
    // cursor past the first 200 followers (as if it had published them), publishes 50 messages of
    // its next chunk and dies before that chunk is acknowledged whole.
    const { post, counts } = await postWatched(star, 'Orphan');
    const job = (await leaseFanoutJob(sql(), { owner: 'dying publisher', leaseSeconds: 3600 }))!;
    expect(job.postId).toBe(post.post_id);
    await sql()`update outbox_fanout set after_follower_id = ${fans[199]!.id}, expanded = 200 where id = ${job.id}`;
    const observer = await connectInternal(stack);
    clients.push(observer);
    await Promise.all(fans.slice(200, 250).map((f) => observer.publishAsync(
      `${job.topicPrefix}${f.user_id}${job.topicSuffix}`, JSON.stringify(job.payload), { qos: 1 })));

    // A live publisher does other work meanwhile (another post's job), but not the leased job.
    await publisher(100);
    const other = await followee(5);
    const second = await postWatched(other.star, 'Meanwhile');
    await until('the other post published', () => second.counts().size === 5);
    expect(await jobOf(post.post_id)).toMatchObject({ claimed_by: 'dying publisher', after_follower_id: fans[199]!.id, done_at: null });
    expect(counts().size).toBe(50);

    // The lease runs out (moved into the past rather than waited for); the next wake-up resumes it.
    await sql()`update outbox_fanout set claimed_until = now() - interval '1 second' where id = ${job.id}`;
    await sql()`select pg_notify(${OUTBOX_CHANNEL}, '')`;
    await until('the rest of the followers notified', () => counts().size === 400);
    await until('the job finished', async () => (await jobOf(post.post_id)).done_at !== null);
    const got = counts();
    // The first 200 were the dead publisher's; from the cursor on, everyone exactly once, but the
    // 50 of the chunk it died in, who got it twice (at-least-once).
    expect(fans.slice(0, 200).some((f) => got.has(f.user_id))).toBe(false);
    expect(fans.slice(200, 250).map((f) => got.get(f.user_id))).toEqual(Array(50).fill(2));
    expect(fans.slice(250).map((f) => got.get(f.user_id))).toEqual(Array(350).fill(1));
    expect(await jobOf(post.post_id)).toMatchObject({ expanded: 600, after_follower_id: fans.at(-1)!.id, claimed_by: null });
  });

  it('sets aside a job the channel refuses (its payload fails the schema) and goes on with the others', async () => {
    const source = await followee(3);
    await publisher(100);
    const { post, counts } = await postWatched(source.star, 'Source');
    await until('the job finished', async () => (await jobOf(post.post_id)).done_at !== null);
    expect(counts().size).toBe(3);
    // A copy of that job whose payload the channel refuses (an older schema, a bug), written directly.
    const [refused] = await sql()<{ id: number }[]>`
      insert into outbox_fanout (post_id, followee_id, topic_prefix, topic_suffix, payload)
      select post_id, followee_id, topic_prefix, topic_suffix, payload - 'title' from outbox_fanout where post_id = ${post.post_id}
      returning id`;
    const other = await followee(4);
    const good = await postWatched(other.star, 'Accepted');
    await until('the other post published', () => good.counts().size === 4);
    await until('the refused job set aside', async () => {
      const [row] = await sql()<{ claimed_by: string | null; done_at: Date | null; expanded: number }[]>`
        select claimed_by, done_at, expanded from outbox_fanout where id = ${refused!.id}`;
      return row!.claimed_by === FANOUT_PARKED ? row : null;
    }).then((row) => expect(row).toMatchObject({ done_at: null, expanded: 0 }));
    // Nothing of the refused job was published: the followers still have the one message each.
    expect([...counts().values()]).toEqual([1, 1, 1]);
  });
});
