// Protocol 1.1, MQTT half, over a real stack (Mosquitto with mTLS, PostgreSQL, the server): the p3a
// firmware's dialect. MQTT 3.1 (MQIsdp) connect; the player ACL for the new topics; get_post; the
// new query_posts channels and fields; post summaries with storage_shard/native_format; views on
// the view topic (own posts, the repeat window, view/ack); capabilities and state stored; command
// acknowledgements recorded; REST set_* commands only within advertised capabilities.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  playerCapabilitiesTopic, playerCommandAckTopic, playerCommandTopic, playerStateTopic, playerViewAckTopic, playerViewTopic,
} from '@makapix/contract/asyncapi/channels';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import { restExamples } from '@makapix/contract/openapi/examples';
import { limits } from '@makapix/contract/asyncapi/limits';
import { requestGetPost, requestQueryPosts } from '@makapix/contract/asyncapi/operations';
import type { ErrorResponse, PostSummary, QueryPostsRequest } from '@makapix/contract/asyncapi/schemas';
import type { Sql } from '../../src/db/index.js';
import { findCommandAck, findPlayerDevice } from '../../src/db/player-device.js';
import { recordPlayerView } from '../../src/db/views.js';
import { storageShard } from '../../src/vault/shard.js';
import { createPost, createUser, type FixtureUser, type PostFixture } from '../support/fixtures.js';
import { connectPlayer, provisionPlayer, startStack, type Stack } from '../support/stack.js';
import { connectTestPlayer, eventually, rid, wirePlayer, type TestConnection } from './helpers.js';

let stack: Stack;
let sql: Sql;
let owner: FixtureUser;
let author: FixtureUser;
let me: TestConnection; // a player of `owner`, MQTT 5
let other: TestConnection; // a player of `author`, MQTT 5
const connections: TestConnection[] = [];

beforeAll(async () => {
  stack = await startStack();
  sql = stack.server.ctx.sql;
  owner = await createUser(stack);
  author = await createUser(stack);
  me = await connectTestPlayer(stack, owner);
  other = await connectTestPlayer(stack, author);
  connections.push(me, other);
});

afterAll(async () => {
  await Promise.allSettled(connections.map((c) => c.close()));
  await stack?.stop();
});

const env = (c: TestConnection) => ({ request_id: rid(), player_key: c.player.player_key });
const ids = (posts: PostSummary[]) => posts.map((p) => p.post_id);

function ok<R extends { success: boolean }>(r: R): Extract<R, { success: true }> {
  if (!r.success) throw new Error(`expected success, got ${JSON.stringify(r)}`);
  return r as Extract<R, { success: true }>;
}

function expectError(r: unknown, code: ErrorResponse['error_code'], message?: RegExp): void {
  const body = r as ErrorResponse;
  expect(body.success, JSON.stringify(body)).toBe(false);
  expect(body.error_code, JSON.stringify(body)).toBe(code);
  if (message) expect(body.error).toMatch(message);
}

/** Messages received by a connection on one topic, with a wait for the n-th. */
async function collect(c: TestConnection, topic: string) {
  const got: Record<string, unknown>[] = [];
  await c.router.subscribeRaw(topic, (_t, b) => {
    got.push(JSON.parse(b.toString('utf8')) as Record<string, unknown>);
  }, { qos: 1 });
  return { got, nth: (n: number) => eventually(async () => got[n - 1], 10_000) };
}

async function viewRows(postId: number) {
  return sql<{ view_type: string; player_hash: string | null }[]>`select view_type, player_hash from view_events where post_id = ${postId} order by id`;
}

describe('MQTT 3.1 (MQIsdp, level 3) on the mTLS listener', () => {
  it('a player connects with 3.1 as p3a-{key}, makes a request, publishes views and capabilities, and gets its view/ack', async () => {
    const player = await provisionPlayer(stack.api, owner, 'p3a on 3.1');
    const client = await connectPlayer(stack, player, { protocolId: 'MQIsdp', protocolVersion: 3, keepalive: 60, clean: true, username: player.player_key });
    const c: TestConnection = { player, ...(await wirePlayer(client, player)) };
    connections.push(c);
    const post = await createPost(sql, author.id, { native_format: 'png' });
    const r = ok(await requestGetPost(c.requester, { ...messageExamples.GetPostRequest.p3a_get_post, ...env(c), post_id: post.post_id }));
    expect(r.post.post_id).toBe(post.post_id);
    const acks = await collect(c, playerViewAckTopic.format({ player_key: player.player_key }));
    await client.publishAsync(playerViewTopic.format({ player_key: player.player_key }),
      JSON.stringify({ ...messageExamples.PlayerView.p3a_artwork_view, player_key: player.player_key, post_id: post.post_id }), { qos: 1 });
    expect(await acks.nth(1)).toEqual({ success: true });
    expect(await viewRows(post.post_id)).toEqual([{ view_type: 'intentional', player_hash: expect.any(String) }]);
    await client.publishAsync(playerCapabilitiesTopic.format({ player_key: player.player_key }), JSON.stringify(messageExamples.PlayerCapabilities.p3a), { qos: 1, retain: true });
    const device = await eventually(async () => (await findPlayerDevice(sql, player.id))?.capabilities);
    expect(device).toEqual(messageExamples.PlayerCapabilities.p3a);
    await client.publishAsync(playerStateTopic.format({ player_key: player.player_key }), JSON.stringify(messageExamples.PlayerState.p3a), { qos: 1, retain: true });
    await eventually(async () => (await findPlayerDevice(sql, player.id))?.state);

    // the owner sees both on the player record, shaped as the getPlayer p3a example
    const record = await stack.api.getPlayer({ params: { sqid: owner.sqid, player_id: player.id } }, { token: owner.token });
    expect(record.status).toBe(200);
    const example = restExamples.getPlayer.responses[200].p3a;
    const body = record.body as typeof example;
    expect({ ...body.capabilities, reported_at: 'x' }).toEqual({ ...example.capabilities, reported_at: 'x' });
    expect({ ...body.state, reported_at: 'x' }).toEqual({ ...example.state, reported_at: 'x' });
    expect(Date.parse(body.capabilities!.reported_at)).toBeGreaterThan(Date.now() - 60_000);

    // the view above is counted on the post (GET /post/{post_id} view_count)
    const shown = await stack.api.getPost({ params: { post_id: post.post_id } });
    expect(shown.status).toBe(200);
    expect((shown.body as { view_count?: number }).view_count).toBe(1);
  });
});

describe('player ACL of the 1.1 topics', () => {
  it('lets a player publish its own view, capabilities, state and command/ack and read its own view/ack', async () => {
    const key = me.player.player_key;
    const granted = await me.client.subscribeAsync(playerViewAckTopic.format({ player_key: key }), { qos: 1 });
    expect(granted[0]!.qos).toBe(1);
    await me.client.publishAsync(playerStateTopic.format({ player_key: key }), JSON.stringify(messageExamples.PlayerState.p3a), { qos: 1, retain: true });
    expect(await eventually(async () => (await findPlayerDevice(sql, me.player.id))?.state)).toEqual(messageExamples.PlayerState.p3a);
    // view and command/ack: their effects are tested below
  });

  it("refuses another player's topics: its view/ack is not delivered, its view and capabilities cannot be written", async () => {
    const theirs = other.player.player_key;
    const mine = me.player.player_key;
    // Mosquitto grants the subscription and checks `read` at delivery: nothing of theirs arrives
    const snooped = await collect(me, playerViewAckTopic.format({ player_key: theirs }));
    const myAcks = await collect(me, playerViewAckTopic.format({ player_key: mine }));
    const theirAcks = await collect(other, playerViewAckTopic.format({ player_key: theirs }));
    const post = await createPost(sql, owner.id);
    const refused = async (topic: string, payload: object) => {
      try {
        await me.client.publishAsync(topic, JSON.stringify(payload), { qos: 1 });
        return 'accepted';
      } catch (err) {
        return (err as Error).message;
      }
    };
    // MQTT 5: the broker answers PUBACK 0x87 (not authorized) and drops the message
    expect(await refused(playerViewTopic.format({ player_key: theirs }), { ...messageExamples.PlayerView.p3a_channel_view, player_key: theirs, post_id: post.post_id })).toMatch(/not authori[sz]ed/i);
    expect(await refused(playerCapabilitiesTopic.format({ player_key: theirs }), messageExamples.PlayerCapabilities.no_features)).toMatch(/not authori[sz]ed/i);
    await other.client.publishAsync(playerViewTopic.format({ player_key: theirs }), JSON.stringify({ ...messageExamples.PlayerView.p3a_artwork_view, player_key: theirs, post_id: post.post_id }), { qos: 1 });
    expect(await theirAcks.nth(1)).toEqual({ success: true });
    // an answer of my own, sent after theirs: anything of theirs delivered to me would come first
    await me.client.publishAsync(playerViewTopic.format({ player_key: mine }), JSON.stringify({ ...messageExamples.PlayerView.p3a_artwork_view, player_key: mine, post_id: 999_999 }), { qos: 1 });
    expect(await myAcks.nth(1)).toMatchObject({ success: false, error_code: 'not_found' });
    expect(snooped.got).toEqual([]);
    expect(await viewRows(post.post_id)).toEqual([{ view_type: 'intentional', player_hash: expect.any(String) }]);
    expect((await findPlayerDevice(sql, other.player.id))?.capabilities).toBeNull();
  });
});

describe('get_post', () => {
  it('answers the summary with the 1.1 fields; not_found for unknown, hidden and deleted posts; the owner sees its own hidden post', async () => {
    const vault = await createPost(sql, author.id, { native_format: 'gif', title: 'In the vault' });
    const r = ok(await requestGetPost(me.requester, { ...messageExamples.GetPostRequest.p3a_get_post, ...env(me), post_id: vault.post_id }));
    expect(r.post).toMatchObject({
      post_id: vault.post_id, storage_key: vault.storage_key, title: 'In the vault', owner_handle: author.handle,
      kind: 'artwork', storage_shard: storageShard(vault.storage_key), native_format: 'gif', created_at: vault.created_at.toISOString(),
      artwork_modified_at: vault.created_at.toISOString(),
    });
    expectError(await requestGetPost(me.requester, { ...messageExamples.GetPostRequest.get_post_not_found, ...env(me) }), 'not_found', /^post_id: post 999999 not found$/);
    const hidden = await createPost(sql, author.id, { hidden_by_mod: true });
    const deleted = await createPost(sql, author.id, { deleted: true });
    for (const p of [hidden, deleted]) expectError(await requestGetPost(me.requester, { ...env(me), request_type: 'get_post', post_id: p.post_id }), 'not_found');
    const ownHidden = await createPost(sql, owner.id, { visible: false });
    expect(ok(await requestGetPost(me.requester, { ...env(me), request_type: 'get_post', post_id: ownHidden.post_id })).post.post_id).toBe(ownHidden.post_id);
  });
});

describe('query_posts 1.1', () => {
  let walker: FixtureUser;
  let tagged: PostFixture[];
  let reacted: PostFixture[];

  beforeAll(async () => {
    walker = await createUser(stack);
    tagged = [
      await createPost(sql, author.id, { hashtags: ['pixelart', 'cats'] }),
      await createPost(sql, walker.id, { hashtags: ['pixelart'] }),
      await createPost(sql, author.id, { hashtags: ['pixelart'], hidden_by_mod: true }),
    ];
    await createPost(sql, author.id, { hashtags: ['other'] });
    reacted = [await createPost(sql, author.id), await createPost(sql, author.id), await createPost(sql, author.id), await createPost(sql, author.id, { deleted: true })];
    // walker reacts in the order 1, 0, 2 (two emoji on 1: its latest counts), then to the deleted one
    const t0 = Date.now() - 60_000;
    const react = (p: PostFixture, emoji: string, sec: number) => sql`insert into reactions (post_id, user_id, emoji, created_at) values (${p.post_id}, ${walker.id}, ${emoji}, ${new Date(t0 + sec * 1000)})`;
    await react(reacted[1]!, '👍', 1);
    await react(reacted[0]!, '👍', 2);
    await react(reacted[1]!, '🔥', 3);
    await react(reacted[2]!, '👍', 4);
    await react(reacted[3]!, '👍', 5);
  });

  async function walkAll(query: Partial<QueryPostsRequest>, limit: number): Promise<number[]> {
    const all: number[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 20; page++) {
      const r: { posts: PostSummary[]; has_more: boolean; next_cursor: string | null } = ok(await requestQueryPosts(me.requester, { ...env(me), request_type: 'query_posts', ...query, limit, cursor }));
      all.push(...ids(r.posts));
      if (!r.has_more) return all;
      cursor = r.next_cursor;
    }
    throw new Error('too many pages');
  }

  it('reactions (p3a_reactions): the posts the user reacted to, newest reaction first, across pages; reacted_at is the same order', async () => {
    const expected = [reacted[2]!, reacted[1]!, reacted[0]!].map((p) => p.post_id);
    const first = ok(await requestQueryPosts(me.requester, { ...messageExamples.QueryPostsRequest.p3a_reactions, ...env(me), user_sqid: walker.sqid }));
    expect(ids(first.posts)).toEqual(expected);
    expect(await walkAll({ channel: 'reactions', user_sqid: walker.sqid }, 1)).toEqual(expected);
    expect(await walkAll({ channel: 'reactions', user_sqid: walker.sqid, sort: 'reacted_at' }, 2)).toEqual(expected);
  });

  it('hashtag (p3a_hashtag): visible posts with the tag, newest first; the tag is taken with or without # in any case', async () => {
    const expected = [tagged[1]!, tagged[0]!].map((p) => p.post_id);
    const r = ok(await requestQueryPosts(me.requester, { ...messageExamples.QueryPostsRequest.p3a_hashtag, ...env(me) }));
    expect(ids(r.posts).filter((id) => tagged.some((t) => t.post_id === id))).toEqual(expected);
    expect((await walkAll({ channel: 'hashtag', hashtag: '#PixelArt' }, 1)).filter((id) => tagged.some((t) => t.post_id === id))).toEqual(expected);
    expect(await walkAll({ channel: 'hashtag', hashtag: 'cats' }, 5)).toEqual([tagged[0]!.post_id]);
  });

  it('by_user with user_sqid (p3a_by_user) lists that user; artwork (p3a_artwork) lists the same as all', async () => {
    expect(await walkAll({ channel: 'by_user', user_sqid: walker.sqid }, 32)).toEqual([tagged[1]!.post_id]);
    const art = ok(await requestQueryPosts(me.requester, { ...messageExamples.QueryPostsRequest.p3a_artwork, ...env(me) }));
    const all = ok(await requestQueryPosts(me.requester, { ...env(me), request_type: 'query_posts', channel: 'all', limit: 32 }));
    expect(ids(art.posts)).toEqual(ids(all.posts));
    for (const p of art.posts) {
      expect(p.kind).toBe('artwork');
      expect(p.storage_shard).toBe(storageShard(p.storage_key));
    }
  });

  it('refuses what the channels cannot do', async () => {
    const q = (fields: Partial<QueryPostsRequest>) => requestQueryPosts(me.requester, { ...fields, ...env(me), request_type: 'query_posts' });
    expectError(await q({ ...messageExamples.QueryPostsRequest.query_posts_unknown_user_sqid }), 'not_found', /^user_sqid: no user with sqid zzzzzzzz$/);
    expectError(await q({ channel: 'reactions' }), 'invalid_request', /^user_sqid: required/);
    expectError(await q({ channel: 'hashtag' }), 'invalid_request', /^hashtag: required/);
    expectError(await q({ channel: 'all', sort: 'reacted_at' }), 'invalid_request', /^sort: reacted_at is only for channel reactions/);
    expectError(await q({ channel: 'reactions', user_sqid: walker.sqid, sort: 'random' }), 'invalid_request', /^sort: /);
    expectError(await q({ channel: 'by_user' }), 'invalid_request', /^user_handle: required when channel is by_user$/);
  });
});

describe('views on the view topic', () => {
  it('records views of other users\' posts once per repeat window, never the owner\'s own, and answers view/ack when asked', async () => {
    const key = me.player.player_key;
    const acks = await collect(me, playerViewAckTopic.format({ player_key: key }));
    const theirs = await createPost(sql, author.id);
    const mine = await createPost(sql, owner.id);
    const view = (postId: number, extra: object = {}) => me.client.publishAsync(playerViewTopic.format({ player_key: key }),
      JSON.stringify({ ...messageExamples.PlayerView.p3a_channel_view, player_key: key, post_id: postId, request_ack: true, ...extra }), { qos: 1 });
    await view(theirs.post_id);
    expect(await acks.nth(1)).toEqual({ success: true });
    await view(theirs.post_id); // a repeat within the window: answered, not counted
    expect(await acks.nth(2)).toEqual({ success: true });
    await view(mine.post_id); // own post: answered, not counted
    expect(await acks.nth(3)).toEqual({ success: true });
    await view(999_999);
    expect(await acks.nth(4)).toEqual(messageExamples.ViewAckError.p3a_unknown_post);
    expect(await viewRows(theirs.post_id)).toEqual([{ view_type: 'listing', player_hash: expect.any(String) }]);
    expect(await viewRows(mine.post_id)).toEqual([]);
    // request_ack false (the firmware's usual view): recorded, no answer; the ack that follows proves the order
    const another = await createPost(sql, author.id);
    await view(another.post_id, { request_ack: false });
    await view(theirs.post_id);
    expect(await acks.nth(5)).toEqual({ success: true });
    expect(acks.got).toHaveLength(5);
    expect(await eventually(async () => (await viewRows(another.post_id)).length === 1)).toBe(true);
  });

  it(`the repeat window is ${limits.viewRepeatWindowSeconds} s from the last counted view (a clock, no sleeping)`, async () => {
    const post = await createPost(sql, author.id);
    const t0 = new Date('2026-07-23T10:00:00Z');
    const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
    const w = limits.viewRepeatWindowSeconds;
    const record = (seconds: number, playerHash = 'test-player-hash') => sql.begin((tx) => recordPlayerView(tx, {
      postId: post.post_id, viewerId: owner.id, viewerHash: 'test-viewer', viewType: 'listing', dedupeKey: null, moderator: false,
      repeat: { playerHash, windowSeconds: w, at: at(seconds) },
    }));
    expect(await record(0)).toBe('recorded');
    expect(await record(30)).toBe('repeat');
    expect(await record(w - 1)).toBe('repeat');
    expect(await record(w + 1)).toBe('recorded'); // more than the window after the last counted one
    expect(await record(w + 2, 'another-player')).toBe('recorded');
    expect(await record(2 * w)).toBe('repeat'); // within the window of the view counted at w + 1
    const own = await createPost(sql, owner.id);
    expect(await sql.begin((tx) => recordPlayerView(tx, {
      postId: own.post_id, viewerId: owner.id, viewerHash: 'test-viewer', viewType: 'listing', dedupeKey: null, moderator: false,
      repeat: { playerHash: 'test-player-hash', windowSeconds: w, at: at(0) },
    }))).toBe('own_post');
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from view_events where post_id = ${post.post_id}`;
    expect(n).toBe(3);
  });
});

describe('capabilities, state and command acknowledgements; REST set_* within capabilities', () => {
  it('refuses set_* before the player advertised them, then accepts them within its capabilities and records the acks', async () => {
    const key = me.player.player_key;
    const send = (body: Record<string, unknown>) => stack.api.sendPlayerCommand({ params: { sqid: owner.sqid, player_id: me.player.id }, body: body as never }, { token: owner.token });
    const refused = async (body: Record<string, unknown>, message: RegExp) => {
      const r = await send(body);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect((r.body as { error_code: string; error: string }).error_code).toBe('invalid_request');
      expect((r.body as { error: string }).error).toMatch(message);
    };
    await sql`update players set capabilities = null, capabilities_at = null where id = ${me.player.id}`;
    await refused({ command_type: 'set_brightness', value: 60 }, /did not advertise the brightness feature/);
    await refused({ command_type: 'set_paused', paused: true }, /did not advertise the pause feature/);

    const caps = { ...messageExamples.PlayerCapabilities.p3a, features: { ...messageExamples.PlayerCapabilities.p3a.features, brightness: { min: 10, max: 90, step: 5 }, volume: { max: 11 } }, extra: 'ignored' };
    await me.client.publishAsync(playerCapabilitiesTopic.format({ player_key: key }), JSON.stringify(caps), { qos: 1, retain: true });
    const stored = await eventually(async () => (await findPlayerDevice(sql, me.player.id))?.capabilities);
    expect(stored).toEqual({ firmware_version: '1.1.1', features: { pause: {}, brightness: { min: 10, max: 90, step: 5 }, rotation: { values: [0, 90, 180, 270] } } });

    await refused({ command_type: 'set_brightness', value: 95 }, /accepts brightness 10\.\.90/);
    await refused({ command_type: 'set_brightness', value: 12 }, /steps of 5/);
    await refused({ command_type: 'set_brightness', value: 200 }, /brightness must be 0\.\.100/);
    await refused({ command_type: 'set_rotation', value: 45 }, /rotation must be one of 0, 90, 180, 270/);
    await refused({ command_type: 'set_brightness' }, /^value: is required with set_brightness$/);
    await refused({ command_type: 'set_paused', paused: true, value: 1 }, /^value: is not allowed with set_paused$/);
    await refused({ command_type: 'play_channel', channel_name: 'by_user' }, /^user_sqid: is required with play_channel$/);
    await refused({ command_type: 'play_channel', channel_name: 'all', hashtag: 'x' }, /^hashtag: is not allowed with channel all$/);

    const commands = await collect(me, playerCommandTopic.format({ player_key: key }));
    const sent = async (body: Record<string, unknown>) => {
      const r = await send(body);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return (r.body as { command_id: string }).command_id;
    };
    const brightness = await sent({ command_type: 'set_brightness', value: 60 });
    const rotation = await sent({ command_type: 'set_rotation', value: 90 });
    const pause = await sent({ command_type: 'set_paused', paused: true });
    const play = await sent({ command_type: 'play_channel', channel_name: 'hashtag', hashtag: '#PixelArt' });
    const post = await createPost(sql, author.id, { native_format: 'webp' });
    const show = await sent({ command_type: 'show_artwork', post_id: post.post_id });
    await commands.nth(5);
    const byId = new Map(commands.got.map((m) => [m.command_id, m]));
    expect(byId.get(brightness)).toMatchObject({ command_type: 'set_brightness', payload: { value: 60 } });
    expect(byId.get(rotation)).toMatchObject({ command_type: 'set_rotation', payload: { value: 90 } });
    expect(byId.get(pause)).toMatchObject({ command_type: 'set_paused', payload: { paused: true } });
    expect(byId.get(play)).toMatchObject({ command_type: 'play_channel', payload: { channel_name: 'hashtag', hashtag: 'pixelart' } });
    expect(byId.get(show)!.payload).toEqual({
      post_id: post.post_id, storage_key: post.storage_key, art_url: `https://cdn.example.test/art/${post.storage_key}.png`, canvas: '64x64',
      storage_shard: storageShard(post.storage_key), native_format: 'webp',
    });

    // an ack of this command by another player changes nothing; the player's own is recorded
    const metrics = stack.server.ctx.metrics;
    const unknownAcks = () => metrics.value('makapix_player_reports_total', { kind: 'command_ack', outcome: 'unknown_command' });
    const unknownBefore = await unknownAcks();
    await other.client.publishAsync(playerCommandAckTopic.format({ player_key: other.player.player_key }), JSON.stringify({ command_id: brightness, status: 'error', error: 'not mine' }), { qos: 1 });
    await eventually(async () => (await unknownAcks()) > unknownBefore);
    expect(await findCommandAck(sql, brightness)).toEqual({ ack_status: null, ack_error: null, acked_at: null });
    await me.client.publishAsync(playerCommandAckTopic.format({ player_key: key }), JSON.stringify({ ...messageExamples.CommandAck.p3a_ok, command_id: brightness }), { qos: 1 });
    await me.client.publishAsync(playerCommandAckTopic.format({ player_key: key }), JSON.stringify({ ...messageExamples.CommandAck.p3a_error, command_id: rotation }), { qos: 1 });
    const ack = await eventually(async () => {
      const a = await findCommandAck(sql, rotation);
      return a?.ack_status ? a : null;
    });
    expect(ack).toMatchObject({ ack_status: 'error', ack_error: messageExamples.CommandAck.p3a_error.error, acked_at: expect.any(Date) });
    expect(await eventually(async () => (await findCommandAck(sql, brightness))?.ack_status)).toBe('ok');

    // the owner sees each command with its acknowledgement over REST; another player's command is 404
    const getCommand = (command_id: string, player_id = me.player.id) =>
      stack.api.getPlayerCommand({ params: { sqid: owner.sqid, player_id, command_id } }, { token: owner.token });
    const acked = await getCommand(rotation);
    expect(acked.status).toBe(200);
    expect(acked.body).toEqual({
      command_id: rotation, command_type: 'set_rotation', issued_at: expect.any(String),
      ack: { status: 'error', error: messageExamples.CommandAck.p3a_error.error, acked_at: expect.any(String) },
    });
    const unacked = await getCommand(show);
    expect(unacked.status).toBe(200);
    expect(unacked.body).toEqual({ command_id: show, command_type: 'show_artwork', issued_at: expect.any(String) });
    expect((await getCommand(rotation, other.player.id)).status).toBe(404);

    // state: the fields it carries replace the stored ones
    await sql`update players set state = null, state_at = null where id = ${me.player.id}`;
    await me.client.publishAsync(playerStateTopic.format({ player_key: key }), JSON.stringify(messageExamples.PlayerState.p3a), { qos: 1, retain: true });
    expect(await eventually(async () => (await findPlayerDevice(sql, me.player.id))?.state)).toEqual(messageExamples.PlayerState.p3a);
    await me.client.publishAsync(playerStateTopic.format({ player_key: key }), JSON.stringify({ brightness: 60 }), { qos: 1, retain: true });
    expect(await eventually(async () => {
      const s = (await findPlayerDevice(sql, me.player.id))?.state;
      return s?.brightness === 60 ? s : null;
    })).toEqual({ is_paused: false, brightness: 60, rotation: 0 });
  });
});
