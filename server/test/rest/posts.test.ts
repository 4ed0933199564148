// createPost / getPost / deletePost / promotePost and the notifications they cause, against a real
// stack. Notifications are asserted twice: as outbox rows (the generic and category messages written
// in the post's transaction; the per-follower ones are never rows, the post's fan-out job is
// published straight from `follows`) and as MQTT messages published by the outbox publisher of
// mqtt/workers.ts.
// The request's own writes with many followers: post-fanout.test.ts.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  postNewForFollowerTopic, postNewInCategoryTopic, postNewTopic, PostNotificationValidator,
} from '@makapix/contract/asyncapi/channels';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import { restExamples } from '@makapix/contract/openapi/examples';
import { connectInternal, registerModerator, registerUser, startStack, uniqueHandle, type Stack, type TestUser } from '../support/stack.js';
import { collect, createPostAs, expectError, expectStatus, fanoutDone, outboxRowsForPost, postBody } from './helpers.js';

let stack: Stack;
let author: TestUser;
let stranger: TestUser;
let moderator: TestUser;

beforeAll(async () => {
  stack = await startStack();
  author = await registerUser(stack.api, uniqueHandle('author'));
  stranger = await registerUser(stack.api, uniqueHandle('stranger'));
  moderator = await registerModerator(stack);
});
afterAll(async () => stack?.stop());

const ex = restExamples;
const sql = () => stack.server.ctx.sql;
const setFlags = (postId: number, flags: { hidden_by_mod?: boolean; non_conformant?: boolean; visible?: boolean }) =>
  sql()`update posts set ${sql()(flags)} where post_id = ${postId}`;

describe('createPost', () => {
  it('creates the cool_pixel_art example with the defaults filled in', async () => {
    const r = await stack.api.createPost({ body: ex.createPost.request.cool_pixel_art }, { token: author.token });
    const post = expectStatus(r, 201);
    const { post_id, storage_key, owner_id, owner_handle, created_at, ...rest } = ex.createPost.responses[201].cool_pixel_art;
    void [post_id, storage_key, owner_id, owner_handle, created_at];
    expect(post).toMatchObject(rest);
    expect(post.owner_id).toBe(author.user_id);
    expect(post.owner_handle).toBe(author.handle);
    expect(Math.abs(Date.parse(post.created_at) - Date.now())).toBeLessThan(60_000);
    const [row] = await sql()<{ owner_id: number; storage_key: string; frame_count: number; deleted: boolean }[]>`
      select owner_id, storage_key, frame_count, deleted from posts where post_id = ${post.post_id}`;
    expect(row).toMatchObject({ storage_key: post.storage_key, frame_count: 1, deleted: false });
    const got = expectStatus(await stack.api.getPost({ params: { post_id: post.post_id } }), 200);
    expect(got).toEqual({ ...post, view_count: 0 });
  });

  it('keeps frame_count and has_transparency when given (animated_sprite example)', async () => {
    const post = await createPostAs(stack.api, author, ex.createPost.request.animated_sprite);
    expect(post).toMatchObject({ frame_count: 8, has_transparency: true, canvas: '32x32', title: 'Walking Cat', promoted_category: null });
  });

  it('answers 400 when canvas is not <width>x<height>, or the body fails its schema', async () => {
    const r = await stack.api.createPost({ body: postBody({ canvas: '64x32' }) }, { token: author.token });
    expectError(r, 400, 'invalid_request', /canvas/);
    for (const body of [postBody({ title: '' }), { ...postBody(), extra: 1 }, postBody({ width: 0 }), postBody({ art_url: 'not a url' })]) {
      expectError(await stack.api.createPost({ body: body as never }, { token: author.token }), 400, 'invalid_request');
    }
    const [n] = await sql()<{ n: number }[]>`select count(*) as n from posts where canvas = '64x32' or title = ''`;
    expect(n!.n).toBe(0);
  });

  it('refuses integers beyond their column (frame_count 2147483648) with 400 naming the field, never 500', async () => {
    for (const frame_count of [2147483648, 100001, 2 ** 53]) {
      expectError(await stack.api.createPost({ body: postBody({ frame_count }) }, { token: author.token }), 400, 'invalid_request', /frame_count/);
    }
    expect(expectStatus(await stack.api.createPost({ body: postBody({ frame_count: 100000 }) }, { token: author.token }), 201).frame_count).toBe(100000);
  });

  it('needs a bearer token', async () => {
    expectError(await stack.api.createPost({ body: postBody() }), 401, 'authentication_failed');
  });
});

describe('new-post notifications (outbox)', () => {
  let client: MqttClient;
  beforeAll(async () => {
    client = await connectInternal(stack);
  });
  afterAll(async () => client?.endAsync());

  /** Collects every follower message (any post) and every generic new-post message on `client`. */
  const watchNewPosts = async () => {
    const inbox = await collect(client, postNewForFollowerTopic.filter({}));
    await client.subscribeAsync(postNewTopic.filter({}), { qos: 1 });
    return {
      inbox,
      /** The follower messages of `postId` received so far. */
      forPost: (postId: number) => inbox.messages.filter((m) => postNewForFollowerTopic.parse(m.topic)?.post_id === postId),
    };
  };

  it('enqueues one generic message and one fan-out job; the publisher sends one message per follower, with the PostNotification payload', async () => {
    const { inbox, forPost } = await watchNewPosts();
    const followers = await Promise.all([1, 2, 3].map(() => registerUser(stack.api, uniqueHandle('fan'))));
    for (const f of followers) expect((await stack.api.followUser({ params: { sqid: author.sqid } }, { token: f.token })).status).toBe(204);
    // An unfollowed user gets nothing.
    expect((await stack.api.unfollowUser({ params: { sqid: author.sqid } }, { token: followers[2]!.token })).status).toBe(204);

    const post = await createPostAs(stack.api, author, { title: 'Fan-out test' });
    // The request wrote the generic message and the job; no row per follower, ever.
    await fanoutDone(sql(), post.post_id);
    const rows = await outboxRowsForPost(sql(), post.post_id);
    expect(rows.map((r) => r.topic)).toEqual([postNewTopic.format({ post_id: post.post_id })]);
    expect(rows[0]!.topic).toBe(`makapix/post/new/${post.post_id}`);

    const generic = postNewTopic.format({ post_id: post.post_id });
    await inbox.waitFor((m) => m.some((x) => x.topic === generic) && forPost(post.post_id).length >= 2, 10_000);
    const expectedTopics = followers.slice(0, 2).map((f) => postNewForFollowerTopic.format({ follower_id: f.user_id, post_id: post.post_id }));
    expect(forPost(post.post_id).map((m) => m.topic).sort()).toEqual([...expectedTopics].sort());
    const expectedPayload = {
      post_id: post.post_id,
      owner_id: author.user_id,
      owner_handle: author.handle,
      title: 'Fan-out test',
      art_url: post.art_url,
      canvas: post.canvas,
      promoted_category: null,
      created_at: post.created_at,
    };
    expect(rows[0]!.payload).toEqual(expectedPayload);
    for (const m of [...forPost(post.post_id), inbox.messages.find((x) => x.topic === generic)!]) {
      expect(PostNotificationValidator.check(m.payload), PostNotificationValidator.explain(m.payload)).toBe(true);
      expect(m.payload).toEqual(expectedPayload);
    }
    expect(Object.keys(expectedPayload).sort()).toEqual(Object.keys(messageExamples.PostNotification.new_post).sort());
  });

  it('fans out to many followers without failing the request (one message per follower)', async () => {
    const { inbox, forPost } = await watchNewPosts();
    const star = await registerUser(stack.api, uniqueHandle('star'));
    const fans = await Promise.all(Array.from({ length: 40 }, () => registerUser(stack.api, uniqueHandle('crowd'))));
    await Promise.all(fans.map(async (f) => expect((await stack.api.followUser({ params: { sqid: star.sqid } }, { token: f.token })).status).toBe(204)));
    const post = await createPostAs(stack.api, star);
    await fanoutDone(sql(), post.post_id);
    await inbox.waitFor(() => forPost(post.post_id).length >= 40, 10_000);
    const perFollower = forPost(post.post_id).map((m) => postNewForFollowerTopic.parse(m.topic)!.follower_id);
    expect(perFollower).toHaveLength(40);
    expect(new Set(perFollower)).toEqual(new Set(fans.map((f) => f.user_id)));
  });

  it('enqueues nothing when the post is not created', async () => {
    const count = async () => (await sql()<{ n: number }[]>`
      select (select count(*) from outbox) + (select count(*) from outbox_fanout) as n`)[0]!.n;
    const before = await count();
    expectError(await stack.api.createPost({ body: postBody({ canvas: '1x1' }) }, { token: author.token }), 400, 'invalid_request');
    expect(await count()).toBe(before);
  });
});

describe('getPost visibility', () => {
  it('shows a visible post to anyone, and 404 for an unknown post', async () => {
    const post = await createPostAs(stack.api, author);
    expect(expectStatus(await stack.api.getPost({ params: { post_id: post.post_id } }), 200).post_id).toBe(post.post_id);
    expect(expectStatus(await stack.api.getPost({ params: { post_id: post.post_id } }, { token: stranger.token }), 200).title).toBe(post.title);
    expectError(await stack.api.getPost({ params: { post_id: 999_999 } }), 404, 'not_found', 'Post 999999 not found');
    expectError(await stack.api.getPost({ params: { post_id: 0 } }), 400, 'invalid_request');
  });

  it('shows a hidden, non-conformant or invisible post only to its owner and to moderators', async () => {
    for (const flags of [{ hidden_by_mod: true }, { non_conformant: true }, { visible: false }]) {
      const post = await createPostAs(stack.api, author);
      await setFlags(post.post_id, flags);
      const params = { post_id: post.post_id };
      expectError(await stack.api.getPost({ params }), 404, 'not_found');
      expectError(await stack.api.getPost({ params }, { token: stranger.token }), 404, 'not_found');
      expect(expectStatus(await stack.api.getPost({ params }, { token: author.token }), 200).post_id).toBe(post.post_id);
      expect(expectStatus(await stack.api.getPost({ params }, { token: moderator.token }), 200).post_id).toBe(post.post_id);
    }
  });

  it('treats an invalid bearer token as 401, not as an anonymous call', async () => {
    const post = await createPostAs(stack.api, author);
    expectError(await stack.api.getPost({ params: { post_id: post.post_id } }, { token: 'a.b.c' }), 401, 'authentication_failed');
  });
});

describe('deletePost', () => {
  it('lets the owner delete (soft): 204, then 404 for everybody, and a second delete is 404', async () => {
    const post = await createPostAs(stack.api, author);
    const params = { post_id: post.post_id };
    expectError(await stack.api.deletePost({ params }, { token: stranger.token }), 403, 'forbidden');
    expect(expectStatus(await stack.api.getPost({ params }), 200).post_id).toBe(post.post_id);

    expect((await stack.api.deletePost({ params }, { token: author.token })).status).toBe(204);
    const [row] = await sql()<{ deleted: boolean }[]>`select deleted from posts where post_id = ${post.post_id}`;
    expect(row!.deleted).toBe(true);
    for (const token of [undefined, stranger.token, author.token, moderator.token]) {
      expectError(await stack.api.getPost({ params }, { token }), 404, 'not_found');
    }
    expectError(await stack.api.deletePost({ params }, { token: author.token }), 404, 'not_found');
  });

  it("lets a moderator delete someone else's post; 404 for unknown posts; 401 without a token", async () => {
    const post = await createPostAs(stack.api, author);
    expect((await stack.api.deletePost({ params: { post_id: post.post_id } }, { token: moderator.token })).status).toBe(204);
    expectError(await stack.api.getPost({ params: { post_id: post.post_id } }), 404, 'not_found');
    expectError(await stack.api.deletePost({ params: { post_id: 999_998 } }, { token: moderator.token }), 404, 'not_found');
    expectError(await stack.api.deletePost({ params: { post_id: post.post_id } }), 401, 'authentication_failed');
  });

  it('answers 404, not 403, to a stranger deleting a hidden post (its existence is not revealed)', async () => {
    const post = await createPostAs(stack.api, author);
    await setFlags(post.post_id, { hidden_by_mod: true });
    expectError(await stack.api.deletePost({ params: { post_id: post.post_id } }, { token: stranger.token }), 404, 'not_found');
    const [row] = await sql()<{ deleted: boolean }[]>`select deleted from posts where post_id = ${post.post_id}`;
    expect(row!.deleted).toBe(false);
  });
});

describe('promotePost', () => {
  it('is refused to a plain user (moderator_required example), even the owner', async () => {
    const post = await createPostAs(stack.api, author);
    for (const token of [author.token, stranger.token]) {
      const r = await stack.api.promotePost({ params: { post_id: post.post_id }, body: ex.promotePost.request.daily_best }, { token });
      expect(r.status).toBe(403);
      expect(r.body).toEqual(ex.promotePost.responses[403].moderator_required);
    }
    const [row] = await sql()<{ promoted_category: string | null }[]>`select promoted_category from posts where post_id = ${post.post_id}`;
    expect(row!.promoted_category).toBeNull();
    expect((await outboxRowsForPost(sql(), post.post_id)).filter((r) => r.topic.includes('/category/'))).toEqual([]);
  });

  it('promotes (daily_best example) with one category notification; the same category again changes nothing', async () => {
    const post = await createPostAs(stack.api, author);
    const params = { post_id: post.post_id };
    const r = await stack.api.promotePost({ params, body: ex.promotePost.request.daily_best }, { token: moderator.token });
    const promoted = expectStatus(r, 200);
    expect(promoted).toEqual({ ...post, promoted_category: "daily's-best" });
    const [row] = await sql()<{ promoted_category: string; promoted_at: Date | null }[]>`
      select promoted_category, promoted_at from posts where post_id = ${post.post_id}`;
    expect(row!.promoted_category).toBe("daily's-best");
    expect(row!.promoted_at).toBeInstanceOf(Date);

    const categoryRows = async () => (await outboxRowsForPost(sql(), post.post_id)).filter((x) => postNewInCategoryTopic.matches(x.topic));
    let rows = await categoryRows();
    expect(rows.map((x) => x.topic)).toEqual([postNewInCategoryTopic.format({ category: "daily's-best", post_id: post.post_id })]);
    expect(rows[0]!.topic).toBe(`makapix/post/new/category/daily's-best/${post.post_id}`);
    expect(PostNotificationValidator.check(rows[0]!.payload)).toBe(true);
    expect(rows[0]!.payload).toMatchObject({ post_id: post.post_id, owner_id: author.user_id, promoted_category: "daily's-best", created_at: post.created_at });

    // Again, to the same category: 200, unchanged, nothing sent.
    const again = expectStatus(await stack.api.promotePost({ params, body: { category: "daily's-best" } }, { token: moderator.token }), 200);
    expect(again.promoted_category).toBe("daily's-best");
    const [row2] = await sql()<{ promoted_at: Date }[]>`select promoted_at from posts where post_id = ${post.post_id}`;
    expect(row2!.promoted_at.getTime()).toBe(row!.promoted_at!.getTime());
    expect(await categoryRows()).toHaveLength(1);

    // Another category replaces it and notifies once on its own topic.
    expect(expectStatus(await stack.api.promotePost({ params, body: { category: 'frontpage' } }, { token: moderator.token }), 200).promoted_category).toBe('frontpage');
    rows = await categoryRows();
    expect(rows.map((x) => x.topic)).toEqual([
      postNewInCategoryTopic.format({ category: "daily's-best", post_id: post.post_id }),
      postNewInCategoryTopic.format({ category: 'frontpage', post_id: post.post_id }),
    ]);
    expect(expectStatus(await stack.api.getPost({ params }), 200).promoted_category).toBe('frontpage');
  });

  it('notifies once however many users follow the category, and once under concurrent identical promotions', async () => {
    const fans = await Promise.all([1, 2, 3].map(() => registerUser(stack.api, uniqueHandle('catfan'))));
    for (const f of fans) expect((await stack.api.followCategory({ params: { category: 'editor-pick' } }, { token: f.token })).status).toBe(204);
    const post = await createPostAs(stack.api, author);
    const results = await Promise.all([1, 2, 3].map(() =>
      stack.api.promotePost({ params: { post_id: post.post_id }, body: { category: 'editor-pick' } }, { token: moderator.token })));
    for (const r of results) expect(expectStatus(r, 200).promoted_category).toBe('editor-pick');
    const rows = (await outboxRowsForPost(sql(), post.post_id)).filter((x) => postNewInCategoryTopic.matches(x.topic));
    expect(rows.map((x) => x.topic)).toEqual([`makapix/post/new/category/editor-pick/${post.post_id}`]);
  });

  it('refuses (400) to promote a hidden post, so nothing hidden is announced to category subscribers', async () => {
    const post = await createPostAs(stack.api, author);
    await sql()`update posts set hidden_by_mod = true where post_id = ${post.post_id}`;
    const r = await stack.api.promotePost({ params: { post_id: post.post_id }, body: { category: 'frontpage' } }, { token: moderator.token });
    expectError(r, 400, 'invalid_request', /only listed posts can be promoted/);
    expect((await outboxRowsForPost(sql(), post.post_id)).filter((x) => postNewInCategoryTopic.matches(x.topic))).toEqual([]);
  });

  it('answers 404 for an unknown or deleted post, 400 for an unknown category', async () => {
    expectError(await stack.api.promotePost({ params: { post_id: 999_997 }, body: { category: 'frontpage' } }, { token: moderator.token }), 404, 'not_found');
    const post = await createPostAs(stack.api, author);
    expect((await stack.api.deletePost({ params: { post_id: post.post_id } }, { token: author.token })).status).toBe(204);
    expectError(await stack.api.promotePost({ params: { post_id: post.post_id }, body: { category: 'frontpage' } }, { token: moderator.token }), 404, 'not_found');
    const rows = await outboxRowsForPost(sql(), post.post_id);
    expect(rows.filter((x) => postNewInCategoryTopic.matches(x.topic))).toEqual([]);
    const [row] = await sql()<{ promoted_category: string | null }[]>`select promoted_category from posts where post_id = ${post.post_id}`;
    expect(row!.promoted_category).toBeNull();
    const live = await createPostAs(stack.api, author);
    expectError(await stack.api.promotePost({ params: { post_id: live.post_id }, body: { category: 'nope' } as never }, { token: moderator.token }), 400, 'invalid_request');
  });
});

// END TO END through the broker: passes once the outbox publisher (server/src/mqtt/workers.ts) exists.
describe('notifications end to end (MQTT, needs the outbox publisher)', () => {
  let client: MqttClient;
  beforeAll(async () => {
    client = await connectInternal(stack);
  });
  afterAll(async () => client?.endAsync());

  it('publishes the generic and the per-follower new-post messages, and the category message', async () => {
    const inbox = await collect(client, 'makapix/post/new/#');
    const artist = await registerUser(stack.api, uniqueHandle('e2eartist'));
    const fan = await registerUser(stack.api, uniqueHandle('e2efan'));
    expect((await stack.api.followUser({ params: { sqid: artist.sqid } }, { token: fan.token })).status).toBe(204);

    const post = await createPostAs(stack.api, artist, { title: 'End to end' });
    const generic = postNewTopic.format({ post_id: post.post_id });
    const forFan = postNewForFollowerTopic.format({ follower_id: fan.user_id, post_id: post.post_id });
    await inbox.waitFor((m) => m.some((x) => x.topic === generic) && m.some((x) => x.topic === forFan), 10_000);
    for (const topic of [generic, forFan]) {
      const msg = inbox.messages.find((x) => x.topic === topic)!;
      expect(PostNotificationValidator.check(msg.payload), PostNotificationValidator.explain(msg.payload)).toBe(true);
      expect(msg.payload).toEqual({
        post_id: post.post_id, owner_id: artist.user_id, owner_handle: artist.handle, title: 'End to end',
        art_url: post.art_url, canvas: post.canvas, promoted_category: null, created_at: post.created_at,
      });
    }

    expectStatus(await stack.api.promotePost({ params: { post_id: post.post_id }, body: { category: 'weekly-pack' } }, { token: moderator.token }), 200);
    const category = postNewInCategoryTopic.format({ category: 'weekly-pack', post_id: post.post_id });
    await inbox.waitFor((m) => m.some((x) => x.topic === category), 10_000);
    const msg = inbox.messages.find((x) => x.topic === category)!;
    expect(PostNotificationValidator.check(msg.payload)).toBe(true);
    expect(msg.payload).toMatchObject({ post_id: post.post_id, promoted_category: 'weekly-pack' });
  });
});
