// POST /post by a user with many followers, against a real stack: the request writes O(1) rows
// (the generic message and one fan-out job), whatever the number of followers; the outbox
// publisher then expands the job and publishes one message per follower. The first server runs
// without workers (no publisher), so what the request wrote can be counted before anything else
// happens; two more instances with workers then race for the job: it is expanded once.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postNewForFollowerTopic, postNewTopic, PostNotificationValidator } from '@makapix/contract/asyncapi/channels';
import { createUser, type FixtureUser } from '../support/fixtures.js';
import { connectInternal, startStack, type Stack } from '../support/stack.js';
import { collect, createPostAs } from './helpers.js';

const FOLLOWERS = 5000;

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
  it('answers 201 having written two rows, and then every follower is notified by the publisher', async () => {
    const sql = stack.server.ctx.sql;
    const post = await createPostAs(stack.api, author, { title: 'For the crowd' });

    // What the request's transaction wrote (nobody has expanded or published anything yet).
    const rows = await sql<{ topic: string; payload: unknown; published_at: Date | null }[]>`
      select topic, payload, published_at from outbox where payload ->> 'post_id' = ${String(post.post_id)}`;
    expect(rows.map((r) => r.topic)).toEqual([postNewTopic.format({ post_id: post.post_id })]);
    const jobs = await sql<{ followee_id: number; expanded: number; done_at: Date | null; payload: unknown }[]>`
      select followee_id, expanded, done_at, payload from outbox_fanout where post_id = ${post.post_id}`;
    expect(jobs).toEqual([{ followee_id: author.id, expanded: 0, done_at: null, payload: rows[0]!.payload }]);
    expect(PostNotificationValidator.check(rows[0]!.payload)).toBe(true);

    // A few followers (first, middle, last) and the generic topic, watched over MQTT.
    observer = await connectInternal(stack);
    const watched = [fans[0]!, fans[Math.floor(FOLLOWERS / 2)]!, fans.at(-1)!].map((f) =>
      postNewForFollowerTopic.format({ follower_id: f.user_id, post_id: post.post_id }));
    const inbox = await collect(observer, postNewTopic.format({ post_id: post.post_id }));
    for (const topic of watched) await observer.subscribeAsync(topic, { qos: 1 });

    // Two instances with workers: their publishers expand the job (once) and publish everything.
    const workers = await Promise.all([1, 2].map(() => stack.addServer({}, { workers: true })));
    await inbox.waitFor((m) => watched.every((t) => m.some((x) => x.topic === t)) && m.some((x) => postNewTopic.matches(x.topic)), 60_000);
    for (const m of inbox.messages) expect(m.payload).toEqual(rows[0]!.payload);

    await expect.poll(async () => {
      const [r] = await sql<{ n: number }[]>`
        select count(*) as n from outbox where payload ->> 'post_id' = ${String(post.post_id)} and published_at is not null`;
      return r!.n;
    }, { timeout: 60_000, interval: 200 }).toBe(FOLLOWERS + 1);
    const all = await sql<{ topic: string }[]>`
      select topic from outbox where payload ->> 'post_id' = ${String(post.post_id)} and topic <> ${rows[0]!.topic}`;
    expect(all.map((r) => r.topic).sort()).toEqual(
      fans.map((f) => postNewForFollowerTopic.format({ follower_id: f.user_id, post_id: post.post_id })).sort());
    // The job is marked done by one more (empty) chunk after the last full one, which can commit
    // after every row is already published: wait for it.
    await expect.poll(async () => {
      const [done] = await sql<{ expanded: number; done_at: Date | null }[]>`
        select expanded, done_at from outbox_fanout where post_id = ${post.post_id}`;
      return done;
    }, { timeout: 10_000, interval: 100 }).toEqual({ expanded: FOLLOWERS, done_at: expect.any(Date) });
    const expanded = await Promise.all(workers.map((s) => s.ctx.metrics.value('makapix_fanout_rows_total')));
    expect(expanded.reduce((a, b) => a + b, 0)).toBe(FOLLOWERS);
  }, 120_000);
});
