// Player requests over a real stack (Mosquitto with mTLS, PostgreSQL, the server): the generated
// Requester plays the player; posts, comments and users come from fixtures written to the database.
// Every request type, the spec's examples (with real ids), pagination, cursors, idempotency and the
// pipeline's error codes, each with the rows it must (not) write.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playerRequestTopic } from '@makapix/contract/asyncapi/channels';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import { limits } from '@makapix/contract/asyncapi/limits';
import {
  requestGetComments, requestQueryPosts, requestRevokeReaction, requestSubmitReaction, requestSubmitView,
} from '@makapix/contract/asyncapi/operations';
import { QueryPostsRequestDefaults, type ErrorResponse, type GetCommentsResponse, type PostSummary, type QueryPostsRequest, type QueryPostsResponse } from '@makapix/contract/asyncapi/schemas';
import type { Sql } from '../../src/db/index.js';
import {
  createComment, createPost, createPosts, createUser, type CommentFixture, type FixtureUser, type PostFixture,
} from '../support/fixtures.js';
import { connectInternal, startStack, type Stack } from '../support/stack.js';
import { storageShard } from '../../src/vault/shard.js';
import { connectTestPlayer, rid, wirePlayer, type TestConnection } from './helpers.js';

let stack: Stack;
let sql: Sql;
let owner: FixtureUser;
let author: FixtureUser;
let moderator: FixtureUser;
let me: TestConnection; // a player of `owner`
let mine2: TestConnection; // a second player of `owner`
let mod: TestConnection; // a player of `moderator`
const connections: TestConnection[] = [];

beforeAll(async () => {
  stack = await startStack();
  sql = stack.server.ctx.sql;
  owner = await createUser(stack);
  author = await createUser(stack);
  moderator = await createUser(stack, { moderator: true });
  me = await connectTestPlayer(stack, owner);
  mine2 = await connectTestPlayer(stack, owner);
  mod = await connectTestPlayer(stack, moderator);
  connections.push(me, mine2, mod);
});

afterAll(async () => {
  await Promise.allSettled(connections.map((c) => c.close()));
  await stack?.stop();
});

/** Envelope of a new request from connection `c`. */
const env = (c: TestConnection) => ({ request_id: rid(), player_key: c.player.player_key });

function ok<R extends { success: boolean }>(r: R): Extract<R, { success: true }> {
  if (!r.success) throw new Error(`expected success, got ${JSON.stringify(r)}`);
  return r as Extract<R, { success: true }>;
}

function expectError(r: unknown, code: ErrorResponse['error_code'], message?: string | RegExp): void {
  const body = r as ErrorResponse;
  expect(Object.keys(body).sort(), JSON.stringify(body)).toEqual(['error', 'error_code', 'request_id', 'success']);
  expect(body.success).toBe(false);
  expect(body.error_code, JSON.stringify(body)).toBe(code);
  if (typeof message === 'string') expect(body.error).toBe(message);
  else if (message) expect(body.error).toMatch(message);
}

const ids = (posts: PostSummary[]) => posts.map((p) => p.post_id);

async function count(table: 'view_events' | 'reactions' | 'mqtt_requests' | 'posts' | 'comments'): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(table)}`;
  return row!.n;
}

async function writeCounts() {
  return { views: await count('view_events'), reactions: await count('reactions'), requests: await count('mqtt_requests') };
}

/** Walks every page of a query; asserts has_more/next_cursor agree on each page. */
async function walk(c: TestConnection, query: Partial<QueryPostsRequest>, limit: number, between?: (page: number) => Promise<void>) {
  const all: number[] = [];
  const pages: number[][] = [];
  let cursor: string | null = null;
  do {
    const r: QueryPostsResponse = ok(await requestQueryPosts(c.requester, { ...env(c), request_type: 'query_posts', ...query, cursor, limit }));
    expect(r.has_more).toBe(r.next_cursor !== null);
    expect(r.posts.length).toBeLessThanOrEqual(limit);
    pages.push(ids(r.posts));
    all.push(...ids(r.posts));
    cursor = r.next_cursor;
    if (cursor && between) await between(pages.length);
  } while (cursor !== null);
  return { all, pages };
}

/** Promoted posts, newest first, as a player (listable ones) or a moderator's player (all but deleted) sees them. */
const promotedIds = async (moderator: boolean) =>
  (await sql<{ post_id: number }[]>`
    select post_id from posts where promoted_category is not null and not deleted
      and (${moderator} or (visible and not hidden_by_mod and not non_conformant))
    order by post_id desc limit 50`).map((r) => r.post_id);

const listableIds = async (limit = 50) =>
  (await sql<{ post_id: number }[]>`
    select post_id from posts where visible and not hidden_by_mod and not non_conformant and not deleted
    order by post_id desc limit ${limit}`).map((r) => r.post_id);

// The channels over every post (all, promoted, random) are compared with the database at the time
// (other tests add posts); by_user and user use an author and an owner of their own.
describe('query_posts', () => {
  let author: FixtureUser; // this block's own: no other test posts as them
  let owner: FixtureUser;
  let mine: TestConnection; // a player of this block's `owner`
  let authorPosts: PostFixture[];
  let hidden: PostFixture;
  let nonConformant: PostFixture;
  let invisible: PostFixture;
  let deleted: PostFixture;
  let promoted: PostFixture;
  let ownPosts: PostFixture[];

  beforeAll(async () => {
    author = await createUser(stack);
    owner = await createUser(stack);
    mine = await connectTestPlayer(stack, owner);
    connections.push(mine);
    authorPosts = await createPosts(sql, author.id, 3, (i) => ({
      title: `Author post ${i}`, canvas: '32x16', width: 32, height: 16, frame_count: i + 1, has_transparency: i % 2 === 0,
    }));
    promoted = await createPost(sql, author.id, { promoted_category: 'frontpage', title: 'Promoted one' });
    hidden = await createPost(sql, author.id, { hidden_by_mod: true });
    nonConformant = await createPost(sql, author.id, { non_conformant: true });
    invisible = await createPost(sql, author.id, { visible: false });
    deleted = await createPost(sql, author.id, { deleted: true });
    await createPost(sql, author.id, { promoted_category: 'editor-pick', hidden_by_mod: true });
    ownPosts = await createPosts(sql, owner.id, 2);
  });

  it('all_default: every listable post, newest id first, with full summaries', async () => {
    const r = ok(await requestQueryPosts(me.requester, { ...messageExamples.QueryPostsRequest.all_default, ...env(me) }));
    expect(ids(r.posts)).toEqual(await listableIds(QueryPostsRequestDefaults.limit));
    const more = (await listableIds(QueryPostsRequestDefaults.limit + 1)).length > QueryPostsRequestDefaults.limit;
    expect(r.has_more).toBe(more);
    expect(r.next_cursor === null).toBe(!more);
    for (const gone of [hidden, nonConformant, invisible, deleted]) expect(ids(r.posts)).not.toContain(gone.post_id);
    const p0 = r.posts.find((p) => p.post_id === authorPosts[0]!.post_id)!;
    expect(p0).toEqual({
      post_id: authorPosts[0]!.post_id,
      storage_key: authorPosts[0]!.storage_key,
      title: 'Author post 0',
      art_url: `https://cdn.example.test/art/${authorPosts[0]!.storage_key}.png`,
      canvas: '32x16',
      width: 32,
      height: 16,
      frame_count: 1,
      has_transparency: true,
      owner_handle: author.handle,
      created_at: authorPosts[0]!.created_at.toISOString(),
      kind: 'artwork',
      storage_shard: storageShard(authorPosts[0]!.storage_key),
      native_format: null,
      artwork_modified_at: authorPosts[0]!.created_at.toISOString(),
    });
  });

  it('firmware_limit_32 and first_page/next_page (example cursors replaced by real ones)', async () => {
    const fw = ok(await requestQueryPosts(me.requester, { ...messageExamples.QueryPostsRequest.firmware_limit_32, ...env(me) }));
    expect(ids(fw.posts)).toEqual(await listableIds(32));
    const first = ok(await requestQueryPosts(me.requester, { ...messageExamples.QueryPostsRequest.first_page, ...env(me) }));
    expect(ids(first.posts)).toEqual((await listableIds()).slice(0, 2));
    expect(first.has_more).toBe(true);
    expect(first.next_cursor).toEqual(expect.any(String));
    const next = ok(await requestQueryPosts(me.requester, { ...messageExamples.QueryPostsRequest.next_page, ...env(me), cursor: first.next_cursor }));
    expect(ids(next.posts)).toEqual((await listableIds()).slice(2, 4));
    // The example's literal cursor was not made by this server: refused, not a silent page one.
    const literal = await requestQueryPosts(me.requester, { ...messageExamples.QueryPostsRequest.next_page, ...env(me) });
    expectError(literal, 'invalid_request', /^cursor: /);
  });

  it('promoted: listable posts promoted to any category', async () => {
    const r = ok(await requestQueryPosts(me.requester, { ...messageExamples.QueryPostsRequest.promoted, ...env(me) }));
    expect(ids(r.posts)).toContain(promoted.post_id);
    expect(ids(r.posts)).toEqual(await promotedIds(false));
  });

  it('by_user (handle matched case-insensitively) and user (the player owner\'s posts)', async () => {
    const byUser = ok(await requestQueryPosts(me.requester, {
      ...messageExamples.QueryPostsRequest.by_user, ...env(me), user_handle: author.handle.toUpperCase(),
    }));
    expect(ids(byUser.posts)).toEqual([promoted, ...authorPosts].map((p) => p.post_id).sort((a, b) => b - a));
    const user = ok(await requestQueryPosts(mine.requester, { ...messageExamples.QueryPostsRequest.user, ...env(mine) }));
    expect(ids(user.posts)).toEqual(ownPosts.map((p) => p.post_id).reverse());
    expect(user.posts.every((p) => p.owner_handle === owner.handle)).toBe(true);
  });

  it('random_with_seed: a shuffle of the listable posts', async () => {
    const r = ok(await requestQueryPosts(me.requester, { ...messageExamples.QueryPostsRequest.random_with_seed, ...env(me), limit: 50 }));
    const listable = await listableIds(1_000_000);
    expect(r.posts).toHaveLength(Math.min(50, listable.length));
    expect(new Set(ids(r.posts)).size).toBe(r.posts.length);
    for (const id of ids(r.posts)) expect(listable).toContain(id);
    if (listable.length <= 50) expect([...ids(r.posts)].sort((a, b) => a - b)).toEqual([...listable].sort((a, b) => a - b));
  });

  it('by_user: unknown handle is not_found, missing handle invalid_request', async () => {
    expectError(
      await requestQueryPosts(me.requester, { ...messageExamples.QueryPostsRequest.query_posts_not_found, ...env(me) }),
      'not_found', 'user_handle: no user with handle nobody_here',
    );
    expectError(
      await requestQueryPosts(me.requester, { ...messageExamples.QueryPostsRequest.query_posts_invalid_request, ...env(me) }),
      'invalid_request', 'user_handle: required when channel is by_user',
    );
  });

  it('a moderator\'s player also sees hidden, non-conformant and invisible posts, never deleted ones', async () => {
    const r = ok(await requestQueryPosts(mod.requester, { ...env(mod), request_type: 'query_posts', channel: 'by_user', user_handle: author.handle }));
    for (const p of [hidden, nonConformant, invisible]) expect(ids(r.posts)).toContain(p.post_id);
    expect(ids(r.posts)).not.toContain(deleted.post_id);
    const promotedForMod = ok(await requestQueryPosts(mod.requester, { ...env(mod), request_type: 'query_posts', channel: 'promoted' }));
    expect(ids(promotedForMod.posts)).toEqual(await promotedIds(true));
  });
});

describe('query_posts pagination', () => {
  it('server_order: a walk over more than 2 pages has no duplicates or gaps, also when posts are added between pages', async () => {
    const u = await createUser(stack);
    const posts = await createPosts(sql, u.id, 8);
    const expected = posts.map((p) => p.post_id).reverse();
    const plain = await walk(me, { channel: 'by_user', user_handle: u.handle }, 3);
    expect(plain.pages.length).toBe(3);
    expect(plain.all).toEqual(expected);
    const added: number[] = [];
    const during = await walk(me, { channel: 'by_user', user_handle: u.handle }, 3, async () => {
      added.push((await createPost(sql, u.id)).post_id);
    });
    expect(added).toHaveLength(2);
    expect(during.all).toEqual(expected);
  });

  it('created_at: newest first with post_id breaking ties, exact across pages, also with inserts between pages', async () => {
    const u = await createUser(stack);
    const t = (s: number) => new Date(Date.UTC(2025, 0, 1, 0, 0, s));
    // Ids ascending, times not: the order must follow created_at, then post_id desc for ties.
    const p = await createPosts(sql, u.id, 7, (i) => ({ created_at: [t(30), t(10), t(20), t(20), t(20), t(5), t(40)][i] }));
    const order = [p[6], p[0], p[4], p[3], p[2], p[1], p[5]].map((x) => x!.post_id);
    const one = ok(await requestQueryPosts(me.requester, { ...env(me), request_type: 'query_posts', channel: 'by_user', user_handle: u.handle, sort: 'created_at' }));
    expect(ids(one.posts)).toEqual(order);
    const paged = await walk(me, { channel: 'by_user', user_handle: u.handle, sort: 'created_at' }, 2, async () => {
      await createPost(sql, u.id); // now: newer than every position, so never in the rest of the walk
    });
    expect(paged.pages.length).toBe(4);
    expect(paged.all).toEqual(order);
    // Microsecond precision is kept in the cursor: two posts 1 µs apart are not confused.
    // (a has the lower id and the later time by 1 µs: a cursor cut to milliseconds would skip b.)
    const v = await createUser(stack);
    const a = await createPost(sql, v.id);
    const b = await createPost(sql, v.id, { created_at: t(50) });
    await sql`update posts set created_at = '2025-01-01T00:00:50.000001Z' where post_id = ${a.post_id}`;
    const micro = await walk(me, { channel: 'by_user', user_handle: v.handle, sort: 'created_at' }, 1);
    expect(micro.all).toEqual([a.post_id, b.post_id]);
  });

  it('random: the same seed gives the same order on one page and across pages; another seed another order', async () => {
    const u = await createUser(stack);
    const posts = await createPosts(sql, u.id, 12);
    const q = { channel: 'by_user' as const, user_handle: u.handle, sort: 'random' as const };
    const whole = ok(await requestQueryPosts(me.requester, { ...env(me), request_type: 'query_posts', ...q, random_seed: 42 }));
    expect([...ids(whole.posts)].sort((x, y) => x - y)).toEqual(posts.map((p) => p.post_id));
    const paged = await walk(me, { ...q, random_seed: 42 }, 5);
    expect(paged.pages.length).toBe(3);
    expect(paged.all).toEqual(ids(whole.posts));
    const again = ok(await requestQueryPosts(mine2.requester, { ...env(mine2), request_type: 'query_posts', ...q, random_seed: 42 }));
    expect(ids(again.posts)).toEqual(ids(whole.posts));
    const other = ok(await requestQueryPosts(me.requester, { ...env(me), request_type: 'query_posts', ...q, random_seed: 7 }));
    expect(ids(other.posts)).not.toEqual(ids(whole.posts));
    // Without a seed the server picks one and keeps it in the cursor: still a complete walk.
    const unseeded = await walk(me, q, 5, async () => {
      await createPost(sql, u.id);
    });
    expect(new Set(unseeded.all).size).toBe(unseeded.all.length);
    for (const p of posts) expect(unseeded.all).toContain(p.post_id);
  });

  it('a tampered, foreign or malformed cursor is invalid_request naming cursor', async () => {
    const u = await createUser(stack);
    await createPosts(sql, u.id, 3);
    const base = { request_type: 'query_posts' as const, channel: 'by_user' as const, user_handle: u.handle, limit: 1 };
    const first = ok(await requestQueryPosts(me.requester, { ...env(me), ...base }));
    const cursor = first.next_cursor!;
    const [body, sig] = cursor.split('.') as [string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s.at(i) === 'A' ? 'B' : 'A') + s.slice(i < 0 ? s.length + i + 1 : i + 1);
    // The last character of the signature carries 2 spare bits: a change there must be caught too.
    const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const spare = (s: string) => s.slice(0, -1) + B64[B64.indexOf(s.at(-1)!) ^ 1];
    expect(Buffer.from(spare(sig), 'base64url')).toEqual(Buffer.from(sig, 'base64url')); // same bytes, other text
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), k: [999999] })).toString('base64url');
    const tampered = [
      `${flip(body, 3)}.${sig}`, `${body}.${flip(sig, 0)}`, `${body}.${flip(sig, -1)}`, `${body}.${spare(sig)}`,
      `${flip(body, -1)}.${sig}`, `${forged}.${sig}`, 'garbage', cursor.slice(0, -1), `${cursor}A`,
    ];
    for (const bad of tampered) {
      expectError(await requestQueryPosts(me.requester, { ...env(me), ...base, cursor: bad }), 'invalid_request', 'cursor: invalid or expired cursor');
    }
    const foreign: Partial<QueryPostsRequest>[] = [
      { ...base, user_handle: author.handle },
      { ...base, sort: 'created_at' },
      { request_type: 'query_posts', channel: 'all', limit: 1 },
      { ...base, sort: 'random', random_seed: 1 },
    ];
    for (const query of foreign) {
      expectError(
        await requestQueryPosts(me.requester, { ...env(me), request_type: 'query_posts', ...query, cursor }),
        'invalid_request', /^cursor: belongs to a different query/,
      );
    }
    const seeded = ok(await requestQueryPosts(me.requester, { ...env(me), ...base, sort: 'random', random_seed: 5 }));
    expectError(
      await requestQueryPosts(me.requester, { ...env(me), ...base, sort: 'random', random_seed: 6, cursor: seeded.next_cursor }),
      'invalid_request', /^cursor: belongs to a different query/,
    );
    // The same cursor still works for its own query (nothing above consumed it).
    expect(ok(await requestQueryPosts(me.requester, { ...env(me), ...base, cursor })).posts).toHaveLength(1);
  });

  it('keeps a response under limits.maxPayloadBytes: trims the page and sets has_more/next_cursor so nothing is skipped', async () => {
    const u = await createUser(stack);
    const posts = await createPosts(sql, u.id, 50, (i) => ({
      title: '𝕏'.repeat(200),
      art_url: `https://cdn.example.test/art/${i}/${'a'.repeat(2000)}`,
    }));
    const requestId = rid();
    const r = ok(await requestQueryPosts(me.requester, { request_id: requestId, player_key: me.player.player_key, request_type: 'query_posts', channel: 'by_user', user_handle: u.handle, limit: 50 }));
    expect(r.posts.length).toBeGreaterThan(20);
    expect(r.posts.length).toBeLessThan(50);
    expect(r.has_more).toBe(true);
    const [raw] = await me.responses.wait(requestId);
    expect(raw!.bytes).toBeLessThan(limits.maxPayloadBytes);
    const all = await walk(me, { channel: 'by_user', user_handle: u.handle }, 50);
    expect(all.all).toEqual(posts.map((p) => p.post_id).reverse());
  });
});

describe('submit_view', () => {
  let post: PostFixture;
  let ownPost: PostFixture;
  beforeAll(async () => {
    post = await createPost(sql, author.id);
    ownPost = await createPost(sql, owner.id);
  });
  const viewsOf = (postId: number) =>
    sql<{ viewer_user_id: number; viewer_hash: string; source: string; view_type: string; dedupe_key: string }[]>`
      select viewer_user_id, viewer_hash, source, view_type, dedupe_key from view_events where post_id = ${postId} order by id`;

  it('automated_default is a listing view, intentional an intentional one, by the owner user with a hashed viewer id', async () => {
    ok(await requestSubmitView(me.requester, { ...messageExamples.SubmitViewRequest.automated_default, ...env(me), post_id: post.post_id }));
    ok(await requestSubmitView(mine2.requester, { ...messageExamples.SubmitViewRequest.intentional, ...env(mine2), post_id: post.post_id }));
    const rows = await viewsOf(post.post_id);
    expect(rows.map((r) => [r.viewer_user_id, r.source, r.view_type])).toEqual([
      [owner.id, 'player', 'listing'],
      [owner.id, 'player', 'intentional'],
    ]);
    // One viewer (the owner user) whatever the player; never the raw key or user id.
    expect(rows[0]!.viewer_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[1]!.viewer_hash).toBe(rows[0]!.viewer_hash);
    for (const r of rows) {
      for (const secret of [me.player.player_key, mine2.player.player_key, owner.user_id]) {
        expect(r.viewer_hash).not.toContain(secret);
        expect(r.dedupe_key).not.toContain(secret);
      }
    }
  });

  it('own_post: success, nothing recorded', async () => {
    const before = await count('view_events');
    ok(await requestSubmitView(me.requester, { ...messageExamples.SubmitViewRequest.own_post, ...env(me), post_id: ownPost.post_id }));
    expect(await count('view_events')).toBe(before);
  });

  it('submit_view_not_found and a post hidden by a moderator (found for a moderator\'s player)', async () => {
    expectError(
      await requestSubmitView(me.requester, { ...messageExamples.SubmitViewRequest.submit_view_not_found, ...env(me) }),
      'not_found', 'post_id: post 999999 not found',
    );
    const hidden = await createPost(sql, author.id, { hidden_by_mod: true });
    expectError(await requestSubmitView(me.requester, { ...env(me), request_type: 'submit_view', post_id: hidden.post_id }), 'not_found');
    ok(await requestSubmitView(mod.requester, { ...env(mod), request_type: 'submit_view', post_id: hidden.post_id }));
    expect(await viewsOf(hidden.post_id)).toHaveLength(1);
  });

  it('a duplicate request_id gets the same answer and counts once (sequential and concurrent redelivery)', async () => {
    const target = await createPost(sql, author.id);
    const requestId = rid();
    const payload = { request_id: requestId, request_type: 'submit_view', player_key: me.player.player_key, post_id: target.post_id };
    const first = await me.raw(requestId, payload);
    expect(first).toEqual({ request_id: requestId, success: true, error: null });
    await me.client.publishAsync(playerRequestTopic.format({ player_key: me.player.player_key, request_id: requestId }), JSON.stringify(payload), { qos: 1 });
    const both = await me.responses.wait(requestId, 2);
    expect(both[1]!.body).toEqual(first);
    expect(await viewsOf(target.post_id)).toHaveLength(1);

    const concurrentId = rid();
    const topic = playerRequestTopic.format({ player_key: me.player.player_key, request_id: concurrentId });
    const body = JSON.stringify({ ...payload, request_id: concurrentId });
    await Promise.all([1, 2, 3].map(() => me.client.publishAsync(topic, body, { qos: 1 })));
    const three = await me.responses.wait(concurrentId, 3);
    for (const r of three) expect(r.body).toEqual({ request_id: concurrentId, success: true, error: null });
    expect(await viewsOf(target.post_id)).toHaveLength(2);
  });
});

describe('submit_reaction / revoke_reaction', () => {
  let post: PostFixture;
  beforeAll(async () => {
    post = await createPost(sql, author.id);
  });
  const reactionsOf = async (postId: number, userId = owner.id) =>
    (await sql<{ emoji: string }[]>`select emoji from reactions where post_id = ${postId} and user_id = ${userId} order by created_at, emoji`).map((r) => r.emoji);
  const ex = messageExamples.SubmitReactionRequest;
  const rx = messageExamples.RevokeReactionRequest;
  // Each test reacts to a post of its own (set up with the reactions it starts from).
  const submitted = async (post: PostFixture, requests: { emoji: string }[]) => {
    for (const e of requests) ok(await requestSubmitReaction(me.requester, { ...e, ...env(me), request_type: 'submit_reaction', post_id: post.post_id }));
  };
  const theExamples = [ex.plain_emoji, ex.zwj_sequence, ex.flag, ex.skin_tone_with_spaces];

  it('the examples: plain, ZWJ, flag, skin tone with spaces (stored trimmed); re-adding changes nothing', async () => {
    const post = await createPost(sql, author.id);
    await submitted(post, theExamples);
    expect((await reactionsOf(post.post_id)).sort()).toEqual(['🔥', '👩‍🎨', '🇯🇵', '👍🏽'].sort());
    ok(await requestSubmitReaction(me.requester, { ...ex.plain_emoji, ...env(me), post_id: post.post_id }));
    expect(await reactionsOf(post.post_id)).toHaveLength(4);
  });

  it('at most 5 per user per post: the 6th is reaction_limit_exceeded; reactions are the owner\'s, shared by its players', async () => {
    const post = await createPost(sql, author.id);
    await submitted(post, theExamples);
    ok(await requestSubmitReaction(me.requester, { ...env(me), request_type: 'submit_reaction', post_id: post.post_id, emoji: '❤️' }));
    expect(await reactionsOf(post.post_id)).toHaveLength(5);
    expectError(
      await requestSubmitReaction(mine2.requester, { ...ex.submit_reaction_reaction_limit_exceeded, ...env(mine2), post_id: post.post_id }),
      'reaction_limit_exceeded', 'At most 5 different reactions per user per post',
    );
    expect(await reactionsOf(post.post_id)).toHaveLength(5);
    // An existing one is still fine at the limit.
    ok(await requestSubmitReaction(mine2.requester, { ...ex.plain_emoji, ...env(mine2), post_id: post.post_id }));
    // The other player of the same owner removes the owner's reaction, which frees a slot.
    ok(await requestRevokeReaction(mine2.requester, { ...rx.plain_emoji, ...env(mine2), post_id: post.post_id }));
    expect(await reactionsOf(post.post_id)).not.toContain('🔥');
    ok(await requestSubmitReaction(me.requester, { ...ex.submit_reaction_reaction_limit_exceeded, ...env(me), post_id: post.post_id }));
    expect(await reactionsOf(post.post_id)).toContain('🎉');
    // Another user has a budget of their own.
    ok(await requestSubmitReaction(mod.requester, { ...ex.plain_emoji, ...env(mod), post_id: post.post_id }));
    expect(await reactionsOf(post.post_id, moderator.id)).toEqual(['🔥']);
  });

  it('revoke examples: ZWJ and flag removed, absent reaction and unknown post succeed and change nothing', async () => {
    const post = await createPost(sql, author.id);
    await submitted(post, [ex.zwj_sequence, ex.flag, ex.skin_tone_with_spaces, { emoji: '❤️' }, ex.submit_reaction_reaction_limit_exceeded]);
    ok(await requestRevokeReaction(me.requester, { ...rx.zwj_sequence, ...env(me), post_id: post.post_id }));
    ok(await requestRevokeReaction(me.requester, { ...rx.flag, ...env(me), post_id: post.post_id }));
    expect((await reactionsOf(post.post_id)).sort()).toEqual(['❤️', '👍🏽', '🎉'].sort());
    const before = await count('reactions');
    ok(await requestRevokeReaction(me.requester, { ...rx.absent_reaction, ...env(me), post_id: post.post_id }));
    ok(await requestRevokeReaction(me.requester, { ...rx.absent_reaction, ...env(me), post_id: 999999 }));
    expect(await count('reactions')).toBe(before);
  });

  it('valid emoji (code points counted): 👍 ❤️ 🇫🇷 1️⃣ 👩‍💻 👍🏽', async () => {
    const a = await createPost(sql, author.id);
    const b = await createPost(sql, author.id);
    const valid = ['👍', '❤️', '🇫🇷', '1️⃣', '👩‍💻', '👍🏽'];
    for (const [i, emoji] of valid.entries()) {
      ok(await requestSubmitReaction(me.requester, { ...env(me), request_type: 'submit_reaction', post_id: (i < 3 ? a : b).post_id, emoji }));
    }
    expect([...(await reactionsOf(a.post_id)), ...(await reactionsOf(b.post_id))].sort()).toEqual([...valid].sort());
    // 20 code points are allowed, 21 are not.
    ok(await requestSubmitReaction(me.requester, { ...env(me), request_type: 'submit_reaction', post_id: a.post_id, emoji: '🔥'.repeat(20) }));
    expectError(await requestSubmitReaction(me.requester, { ...env(me), request_type: 'submit_reaction', post_id: a.post_id, emoji: '🔥'.repeat(21) }), 'invalid_emoji');
  });

  it('invalid emoji: letters, digits alone, whitespace, control characters, SQL; for submit and revoke; nothing written', async () => {
    const before = await count('reactions');
    expectError(
      await requestSubmitReaction(me.requester, { ...ex.submit_reaction_invalid_emoji, ...env(me), post_id: post.post_id }),
      'invalid_emoji', 'emoji: must be 1..20 characters of emoji',
    );
    expectError(
      await requestRevokeReaction(me.requester, { ...rx.revoke_reaction_invalid_emoji, ...env(me), post_id: post.post_id }),
      'invalid_emoji', 'emoji: must be 1..20 characters of emoji',
    );
    const bad = ['lol', 'a', '42', '7', '#', ' ', '   ', '👍 👍', 'a👍', '\t', '\u0007', '\u200d', '🏽', "🔥'); delete from reactions; --", "' or 1=1 --"];
    for (const emoji of bad) {
      expectError(await requestSubmitReaction(me.requester, { ...env(me), request_type: 'submit_reaction', post_id: post.post_id, emoji }), 'invalid_emoji');
    }
    expect(await count('reactions')).toBe(before);
  });

  it('submit_reaction_not_found', async () => {
    expectError(
      await requestSubmitReaction(me.requester, { ...ex.submit_reaction_not_found, ...env(me) }),
      'not_found', 'post_id: post 999999 not found',
    );
  });
});

describe('get_comments', () => {
  let post: PostFixture;
  let bare: PostFixture;
  const c: Record<string, CommentFixture> = {};
  beforeAll(async () => {
    post = await createPost(sql, author.id);
    bare = await createPost(sql, author.id);
    const at = (s: number) => new Date(Date.UTC(2025, 5, 1, 12, 0, s));
    const add = async (name: string, s: number, parent: string | null, extra: { deleted?: boolean; hidden_by_mod?: boolean; anonymous?: boolean } = {}) => {
      c[name] = await createComment(sql, {
        postId: post.post_id, authorId: extra.anonymous ? null : owner.id, parent: parent ? c[parent] : undefined,
        body: `body ${name}`, deleted: extra.deleted, hidden_by_mod: extra.hidden_by_mod, created_at: at(s),
      });
    };
    await add('c1', 1, null);
    await add('c2', 2, null, { deleted: true });
    await add('r11', 3, 'c1', { anonymous: true });
    await add('r12', 4, 'c1', { deleted: true }); // deleted, no replies: left out
    await add('r111', 5, 'r11');
    await add('r21', 6, 'c2');
    await add('c3', 7, null, { hidden_by_mod: true });
    await add('r31', 8, 'c3'); // under a hidden comment: left out with it
    await add('c4', 9, null, { deleted: true });
    await add('r41', 10, 'c4', { deleted: true }); // only deleted below: both left out
    await add('c5', 11, null, { deleted: true });
    await add('r51', 12, 'c5', { deleted: true });
    await add('r511', 13, 'r51'); // keeps both deleted ancestors as placeholders
  });
  const names = (list: { comment_id: string }[]) => list.map((x) => Object.entries(c).find(([, v]) => v.comment_id === x.comment_id)?.[0]);

  it('threaded_page: thread order, placeholders for deleted comments with live replies, hidden ones left out', async () => {
    const r = ok(await requestGetComments(me.requester, { ...messageExamples.GetCommentsRequest.threaded_page, ...env(me), post_id: post.post_id }));
    expect(names(r.comments)).toEqual(['c1', 'r11', 'r111', 'c2', 'r21', 'c5', 'r51', 'r511']);
    expect(r.has_more).toBe(false);
    expect(r.next_cursor).toBeNull();
    const byName = Object.fromEntries(r.comments.map((x, i) => [names(r.comments)[i], x]));
    expect(byName.c1).toEqual({
      comment_id: c.c1!.comment_id, post_id: post.post_id, author_handle: owner.handle, body: 'body c1', depth: 0,
      parent_id: null, created_at: c.c1!.created_at.toISOString(), deleted: false,
    });
    expect(byName.r11).toMatchObject({ author_handle: null, body: 'body r11', depth: 1, parent_id: c.c1!.comment_id, deleted: false });
    expect(byName.r111).toMatchObject({ depth: 2, parent_id: c.r11!.comment_id });
    expect(byName.c2).toMatchObject({ deleted: true, body: '', author_handle: null, depth: 0 });
    expect(byName.r51).toMatchObject({ deleted: true, body: '', author_handle: null, depth: 1, parent_id: c.c5!.comment_id });
  });

  it('a moderator\'s player also sees comments hidden by a moderator (and their replies)', async () => {
    const r = ok(await requestGetComments(mod.requester, { ...env(mod), request_type: 'get_comments', post_id: post.post_id }));
    expect(names(r.comments)).toEqual(['c1', 'r11', 'r111', 'c2', 'r21', 'c3', 'r31', 'c5', 'r51', 'r511']);
  });

  it('first_page/next_page and a walk with limit 3: no duplicates, no gaps; a foreign cursor is refused', async () => {
    const first = ok(await requestGetComments(me.requester, { ...messageExamples.GetCommentsRequest.first_page, ...env(me), post_id: post.post_id }));
    expect(names(first.comments)).toEqual(['c1', 'r11']);
    expect(first.has_more).toBe(true);
    const next = ok(await requestGetComments(me.requester, {
      ...messageExamples.GetCommentsRequest.next_page, ...env(me), post_id: post.post_id, cursor: first.next_cursor,
    }));
    expect(names(next.comments)).toEqual(['r111', 'c2']);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: GetCommentsResponse = ok(await requestGetComments(me.requester, { ...env(me), request_type: 'get_comments', post_id: post.post_id, cursor, limit: 3 }));
      seen.push(...(names(r.comments) as string[]));
      cursor = r.next_cursor;
      expect(r.has_more).toBe(cursor !== null);
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(['c1', 'r11', 'r111', 'c2', 'r21', 'c5', 'r51', 'r511']);
    expectError(
      await requestGetComments(me.requester, { ...env(me), request_type: 'get_comments', post_id: bare.post_id, cursor: first.next_cursor }),
      'invalid_request', /^cursor: belongs to a different query/,
    );
    const posts = ok(await requestQueryPosts(me.requester, { ...env(me), request_type: 'query_posts', limit: 1 }));
    expectError(
      await requestGetComments(me.requester, { ...env(me), request_type: 'get_comments', post_id: post.post_id, cursor: posts.next_cursor }),
      'invalid_request', /^cursor: /,
    );
  });

  it('no_comments (limit 200), get_comments_not_found, and a limit outside 1..200', async () => {
    const none = ok(await requestGetComments(me.requester, { ...messageExamples.GetCommentsRequest.no_comments, ...env(me), post_id: bare.post_id }));
    expect(none).toMatchObject({ comments: [], has_more: false, next_cursor: null });
    expectError(
      await requestGetComments(me.requester, { ...messageExamples.GetCommentsRequest.get_comments_not_found, ...env(me) }),
      'not_found', 'post_id: post 999999 not found',
    );
    for (const limit of [0, 201]) {
      const id = rid();
      const r = await me.raw(id, { request_id: id, request_type: 'get_comments', player_key: me.player.player_key, post_id: post.post_id, limit });
      expectError(r, 'invalid_request', /^limit: /);
    }
  });
});

describe('the request pipeline', () => {
  let post: PostFixture;
  beforeAll(async () => {
    post = await createPost(sql, author.id);
  });
  const key = () => me.player.player_key;

  it('answers schema failures with invalid_request naming the field, writing nothing', async () => {
    const before = await writeCounts();
    const cases: [string | Buffer | object, RegExp][] = [
      ['{"request_id": "x", "request_type": ', /^payload: not valid UTF-8 JSON$/],
      [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), /^payload: not valid UTF-8 JSON$/],
      [[1, 2], /must be an object/],
      [{ request_type: 'submit_view', player_key: key() }, /post_id: is required/],
      [{ request_type: 'submit_view', player_key: key(), post_id: '12' }, /post_id: must be integer/],
      [{ request_type: 'submit_view', player_key: key(), post_id: 0 }, /post_id: /],
      [{ request_type: 'submit_view', player_key: key(), post_id: post.post_id, view_intent: 'bored' }, /view_intent: /],
      [{ request_type: 'query_posts', player_key: key(), limit: 51 }, /^limit: /],
      [{ request_type: 'query_posts', player_key: key(), limit: 0 }, /limit: /],
      [{ request_type: 'query_posts', player_key: key(), sort: 'popular' }, /sort: /],
      [{ request_type: 'query_posts', player_key: key(), channel: 'by_user', user_handle: "x'; drop table posts; --" }, /user_handle: /],
      [{ request_type: 'query_posts', player_key: key(), cursor: 'x'.repeat(513) }, /cursor: /],
      [{ request_type: 'submit_reaction', player_key: key(), post_id: post.post_id, emoji: '' }, /emoji: /],
      [{ player_key: key(), post_id: 1 }, /request_type: is required/],
      [{ request_type: 42, player_key: key() }, /request_type: /],
      [{ request_type: 'query_posts', player_key: 'not-a-uuid' }, /player_key: /],
    ];
    for (const [payload, message] of cases) {
      const id = rid();
      const body = typeof payload === 'object' && !Buffer.isBuffer(payload) && !Array.isArray(payload) ? { request_id: id, ...payload } : payload;
      const r = await me.raw(id, body);
      expectError(r, 'invalid_request', message);
      expect((r as ErrorResponse).request_id).toBe(id);
    }
    expect(await writeCounts()).toEqual(before);
  });

  it('an unknown request_type is unknown_request_type', async () => {
    const id = rid();
    const r = await me.raw(id, { request_id: id, request_type: 'get_playset', player_key: key(), channel: 'x' });
    expectError(r, 'unknown_request_type', 'request_type: unknown request type get_playset');
  });

  it('payload player_key other than the topic\'s is authentication_failed; request_id other than the topic\'s is invalid_request to the topic\'s id', async () => {
    const before = await writeCounts();
    const id = rid();
    const r = await me.raw(id, { request_id: id, request_type: 'submit_view', player_key: mod.player.player_key, post_id: post.post_id });
    expectError(r, 'authentication_failed', 'player_key in the payload does not match the topic');
    const topicId = rid();
    const other = await me.raw(topicId, { request_id: 'some-other-id', request_type: 'submit_view', player_key: key(), post_id: post.post_id });
    expectError(other, 'invalid_request', /^request_id: /);
    expect((other as ErrorResponse).request_id).toBe(topicId);
    expect(me.responses.of('some-other-id')).toHaveLength(0);
    expect(await writeCounts()).toEqual(before);
  });

  it('SQL-looking strings are data: an unknown handle is not_found, an SQL emoji invalid_emoji; tables intact', async () => {
    const before = { ...(await writeCounts()), posts: await count('posts') };
    expectError(
      await requestQueryPosts(me.requester, { ...env(me), request_type: 'query_posts', channel: 'by_user', user_handle: 'x_or_1-1--' }),
      'not_found', 'user_handle: no user with handle x_or_1-1--',
    );
    expectError(
      await requestSubmitReaction(me.requester, { ...env(me), request_type: 'submit_reaction', post_id: post.post_id, emoji: "'); drop table reactions; --" }),
      'invalid_emoji',
    );
    expect({ views: await count('view_events'), reactions: await count('reactions'), posts: await count('posts') })
      .toEqual({ views: before.views, reactions: before.reactions, posts: before.posts });
  });

  it('ignores unknown extra fields and never stores them', async () => {
    const id = rid();
    const r = await me.raw(id, { request_id: id, request_type: 'submit_view', player_key: key(), post_id: post.post_id, extra: { x: 1 }, debug: true });
    expect(r).toEqual({ request_id: id, success: true, error: null });
  });

  it('a duplicate query_posts gets the stored answer even when the data changed in between', async () => {
    const u = await createUser(stack);
    await createPosts(sql, u.id, 2);
    const id = rid();
    const payload = { request_id: id, request_type: 'query_posts', player_key: key(), channel: 'by_user', user_handle: u.handle };
    const first = await me.raw(id, payload);
    await createPost(sql, u.id);
    await me.client.publishAsync(playerRequestTopic.format({ player_key: key(), request_id: id }), JSON.stringify(payload), { qos: 1 });
    const [, second] = await me.responses.wait(id, 2);
    expect(second!.body, JSON.stringify(second!.body)).toEqual(first);
    expect((first.posts as unknown[]).length).toBe(2);
  });

  it('an oversize payload (> limits.maxPayloadBytes) is refused with invalid_request', async () => {
    const id = rid();
    const r = await me.raw(id, { request_id: id, request_type: 'query_posts', player_key: key(), pad: 'x'.repeat(limits.maxPayloadBytes + 2048) });
    expectError(r, 'invalid_request', `payload: larger than the ${limits.maxPayloadBytes}-byte limit`);
  });

  it('a player that is not registered, or unknown, gets authentication_failed (published on the internal listener)', async () => {
    const pending = await stack.api.provisionPlayer({ body: {} });
    if (pending.status !== 201) throw new Error(JSON.stringify(pending.body));
    let internal: MqttClient | undefined;
    try {
      internal = await connectInternal(stack);
      for (const playerKey of [pending.body.player_key, messageExamples.QueryPostsRequest.query_posts_authentication_failed.player_key]) {
        const wired = await wirePlayer(internal, { player_key: playerKey });
        const id = rid();
        const r = await wired.raw(id, { ...messageExamples.QueryPostsRequest.query_posts_authentication_failed, request_id: id, player_key: playerKey });
        expectError(r, 'authentication_failed', `Player ${playerKey} is not registered`);
        await wired.router.close();
        await wired.requester.close();
        const [stored] = await sql`select 1 from mqtt_requests where player_key = ${playerKey}`;
        expect(stored).toBeUndefined();
      }
    } finally {
      await internal?.endAsync(true);
    }
  });
});
