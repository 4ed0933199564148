// POST /post by a user with many followers, against a real stack: the request writes O(1) rows
// (the generic message and one fan-out job), whatever the number of followers; the outbox
// publisher then publishes one message per follower straight from `follows`, a chunk at a time.
// The first server runs without workers (no publisher), so what the request wrote can be checked
// before anything else happens; two more instances with workers (small chunks, so the job takes
// several) then race for the job: a subscriber receives every follower's message exactly once
// (the job is leased to one instance; no chunk is published by both while the lease holds).
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postNewForFollower, postNewForFollowerTopic, postNewTopic, PostNotificationValidator } from '@makapix/contract/asyncapi/channels';
import { createUser, type FixtureUser } from '../support/fixtures.js';
import { connectInternal, startStack, type Stack } from '../support/stack.js';
import { collect, createPostAs, fanoutDone } from './helpers.js';

const FOLLOWERS = 5000;
const CHUNK = 700;

let stack: Stack;
let author: FixtureUser;
let fans: { id: number; user_id: string }[];
let observer: MqttClient | undefined;

beforeAll(async () => {
  stack = await startStack({ workers: false });
  const sql = stack.server.ctx.sql;
  author = await createUser(stack);
  fans = await sql<{ id: number; user_id: string }[]>`
    insert into users (handle, email, password_hash)
    select 'crowd' || ${author.id}::text || 'x' || g, 'crowd' || ${author.id}::text || 'x' || g || '@fanout.test', 'test:no-login'
    from generate_series(1, ${FOLLOWERS}::int) g
    returning id, user_id`;
  await sql`
    insert into follows (follower_id, followee_id)
    select f, ${author.id} from unnest(${fans.map((f) => String(f.id))}::bigint[]) f`;
}, 60_000);
afterAll(async () => {
  await observer?.endAsync(true);
  await stack?.stop();
});

describe(`POST /post by a user with ${FOLLOWERS} followers`, () => {
  it('answers 201 having written two rows, and then every follower gets exactly one message', async () => {
    const sql = stack.server.ctx.sql;
    const post = await createPostAs(stack.api, author, { title: 'For the crowd' });

    // What the request's transaction wrote (nobody has published anything yet).
    const rows = await sql<{ topic: string; payload: unknown; published_at: Date | null }[]>`
      select topic, payload, published_at from outbox where payload ->> 'post_id' = ${String(post.post_id)}`;
    expect(rows.map((r) => r.topic)).toEqual([postNewTopic.format({ post_id: post.post_id })]);
    const jobs = await sql<{ followee_id: number; expanded: number; done_at: Date | null; payload: unknown }[]>`
      select followee_id, expanded, done_at, payload from outbox_fanout where post_id = ${post.post_id}`;
    expect(jobs).toEqual([{ followee_id: author.id, expanded: 0, done_at: null, payload: rows[0]!.payload }]);
    expect(PostNotificationValidator.check(rows[0]!.payload)).toBe(true);

    // Every follower topic of the post, and the generic topic, watched over MQTT.
    observer = await connectInternal(stack);
    const inbox = await collect(observer, postNewForFollowerTopic.filter({ post_id: post.post_id }));
    await observer.subscribeAsync(postNewTopic.format({ post_id: post.post_id }), { qos: 1 });
    const followerMessages = () => inbox.messages.filter((m) => postNewForFollowerTopic.matches(m.topic));

    // Two instances with workers: one of them leases the job and publishes it, chunk by chunk.
    const workers = await Promise.all([1, 2].map(() => stack.addServer({ FANOUT_CHUNK: String(CHUNK) }, { workers: true })));
    // Only this post's messages arrive here: the generic one and one per follower.
    await inbox.waitFor((m) => m.length >= FOLLOWERS + 1, 60_000);
    await fanoutDone(sql, post.post_id, 30_000);
    expect(inbox.messages.filter((m) => postNewTopic.matches(m.topic))).toHaveLength(1);
    for (const m of inbox.messages) expect(m.payload).toEqual(rows[0]!.payload);
    // Exactly one message per follower: no chunk was published twice.
    const topics = followerMessages().map((m) => m.topic);
    expect(topics).toHaveLength(FOLLOWERS);
    expect(topics.sort()).toEqual(fans.map((f) => postNewForFollowerTopic.format({ follower_id: f.user_id, post_id: post.post_id })).sort());
    const [done] = await sql<{ expanded: number; done_at: Date | null; claimed_by: string | null }[]>`
      select expanded, done_at, claimed_by from outbox_fanout where post_id = ${post.post_id}`;
    expect(done).toEqual({ expanded: FOLLOWERS, done_at: expect.any(Date), claimed_by: null });
    // Still no row per follower, and the metrics of both instances count each message once.
    const [count] = await sql<{ n: number }[]>`select count(*) as n from outbox where payload ->> 'post_id' = ${String(post.post_id)}`;
    expect(count!.n).toBe(1);
    const published = await Promise.all(workers.map((s) => s.ctx.metrics.value('makapix_notifications_published_total', { channel: postNewForFollower.id })));
    expect(published.reduce((a, b) => a + b, 0)).toBe(FOLLOWERS);
    const counted = await Promise.all(workers.map((s) => s.ctx.metrics.value('makapix_fanout_rows_total')));
    expect(counted.reduce((a, b) => a + b, 0)).toBe(FOLLOWERS);
  }, 120_000);
});
