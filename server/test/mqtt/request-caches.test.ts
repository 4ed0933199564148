// The request path's memories (mqtt/player-cache.ts) on a real stack: who a player is comes from
// memory, yet a player deleted (certificates revoked) or changed is refused on its very next
// request (NOTIFY from the players/users triggers); pure reads store nothing in the database and a
// copy of one gets the same answer from memory. Plus the cache's own rules, without a stack.
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorResponse } from '@makapix/contract/asyncapi/schemas';
import { PlayerAuthCache, RecentAnswers } from '../../src/mqtt/player-cache.js';
import { createPost, createUser } from '../support/fixtures.js';
import { connectInternal, provisionPlayer, startStack, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';
import { rid, wirePlayer } from './helpers.js';

describe('on a real stack', () => {
  let stack: Stack;
  let internal: MqttClient;

  beforeAll(async () => {
    stack = await startStack();
    // requests published through the internal listener: the deleted player's own mTLS session is
    // kicked by the revocation, the cache must refuse it even so
    internal = await connectInternal(stack);
  });
  afterAll(async () => {
    await internal?.endAsync(true);
    await stack?.stop();
  });

  const query = (key: string, id = rid()) => ({ request_id: id, request_type: 'query_posts', player_key: key, limit: 5 });
  const mqttRequests = async () => (await stack.server.ctx.sql<{ n: number }[]>`select count(*)::int as n from mqtt_requests`)[0]!.n;

  it('a deleted player is refused on its next request, though it was known a moment before', async () => {
    const owner = await createUser(stack);
    const player = await provisionPlayer(stack.api, owner);
    const wired = await wirePlayer(internal, { player_key: player.player_key });
    try {
      for (let i = 0; i < 3; i++) {
        const id = rid();
        expect((await wired.raw(id, query(player.player_key, id))).success).toBe(true);
      }
      const del = await stack.api.deletePlayer({ params: { sqid: owner.sqid, player_id: player.id } }, { token: owner.token });
      expect(del.status).toBe(204);
      const id = rid();
      const r = (await wired.raw(id, query(player.player_key, id))) as ErrorResponse;
      expect(r.error_code).toBe('authentication_failed');
    } finally {
      await wired.router.close();
      await wired.requester.close();
    }
  });

  it('a player whose registration is taken back in the database is refused on its next request', async () => {
    const owner = await createUser(stack);
    const player = await provisionPlayer(stack.api, owner);
    const wired = await wirePlayer(internal, { player_key: player.player_key });
    try {
      const first = rid();
      expect((await wired.raw(first, query(player.player_key, first))).success).toBe(true);
      await stack.server.ctx.sql`update players set registration_status = 'pending' where player_key = ${player.player_key}`;
      const id = rid();
      expect(((await wired.raw(id, query(player.player_key, id))) as ErrorResponse).error_code).toBe('authentication_failed');
      await stack.server.ctx.sql`update players set registration_status = 'registered' where player_key = ${player.player_key}`;
      const again = rid();
      expect((await wired.raw(again, query(player.player_key, again))).success).toBe(true);
    } finally {
      await wired.router.close();
      await wired.requester.close();
    }
  });

  it('pure reads store no answer in the database; a copy gets the same answer; a view is stored', async () => {
    const owner = await createUser(stack);
    const player = await provisionPlayer(stack.api, owner);
    const post = await createPost(stack.server.ctx.sql, owner.id);
    const wired = await wirePlayer(internal, { player_key: player.player_key });
    try {
      const before = await mqttRequests();
      const id = rid();
      const payload = query(player.player_key, id);
      const first = await wired.raw(id, payload);
      expect(first.success).toBe(true);
      const getPost = rid();
      expect((await wired.raw(getPost, { request_id: getPost, request_type: 'get_post', player_key: player.player_key, post_id: post.post_id })).success).toBe(true);
      expect(await mqttRequests()).toBe(before);
      await createPost(stack.server.ctx.sql, owner.id);
      await internal.publishAsync(`makapix/player/${player.player_key}/request/${id}`, JSON.stringify(payload), { qos: 1 });
      const [, second] = await wired.responses.wait(id, 2);
      expect(second!.body).toEqual(first);
      const view = rid();
      expect((await wired.raw(view, { request_id: view, request_type: 'submit_view', player_key: player.player_key, post_id: post.post_id })).success).toBe(true);
      expect(await mqttRequests()).toBe(before + 1);
    } finally {
      await wired.router.close();
      await wired.requester.close();
    }
  });

  it('a post, its owner or its artwork changed between two queries is shown as it is now (summaries are reused only at the same row versions)', async () => {
    const owner = await createUser(stack);
    const player = await provisionPlayer(stack.api, owner);
    const sql = stack.server.ctx.sql;
    const post = await createPost(sql, owner.id);
    const wired = await wirePlayer(internal, { player_key: player.player_key });
    const shown = async () => {
      const id = rid();
      const r = (await wired.raw(id, { request_id: id, request_type: 'query_posts', player_key: player.player_key, channel: 'user', limit: 5 })) as { posts: { post_id: number; title: string; owner_handle: string; artwork_modified_at: string }[] };
      return r.posts.find((p) => p.post_id === post.post_id);
    };
    try {
      const before = await shown();
      expect(before).toBeDefined();
      expect(await shown()).toEqual(before); // unchanged: the same summary
      await sql`update posts set title = ${`${before!.title} (edited)`} where post_id = ${post.post_id}`;
      expect((await shown())?.title).toBe(`${before!.title} (edited)`);
      const handle = `renamed${Date.now() % 1_000_000}`;
      await sql`update users set handle = ${handle} where id = ${owner.id}`;
      expect((await shown())?.owner_handle).toBe(handle);
      // the artwork stored in the vault: its time becomes the summary's artwork_modified_at
      const stored = new Date('2026-11-30T12:00:00.000Z');
      await sql`
        insert into vault_objects (storage_key, native_format, byte_size, sha256, created_at)
        select p.storage_key, 'png', 1, decode(repeat('00', 32), 'hex'), ${stored} from posts p where p.post_id = ${post.post_id}`;
      expect((await shown())?.artwork_modified_at).toBe(stored.toISOString());
    } finally {
      await wired.router.close();
      await wired.requester.close();
    }
  });
});

describe('PlayerAuthCache on a real database', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('proves its listener alive by its own pings, and forgets everything when the LISTEN connection is cut', async () => {
    const sql = stack.server.ctx.sql;
    const c = new PlayerAuthCache();
    await c.start(sql);
    try {
      const known = { registered: true, ownerId: 1, ownerUserId: 'u1', isModerator: false };
      c.keep(c.begin(), 'a', known);
      expect(c.get('a')).toEqual(known);
      // the backend that listens on the channel is cut off: postgres.js listens again, which empties the cache
      const cut = await sql<{ n: number }[]>`
        select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
        where pid <> pg_backend_pid() and datname = current_database() and query ilike 'listen%makapix_player_auth%'`;
      expect(cut[0]!.n).toBeGreaterThan(0);
      await until('the cache forgot what it knew', () => c.get('a') === undefined, 15_000);
      // and serves again once it hears its pings on the new connection
      await until('the cache serves again', () => {
        c.keep(c.begin(), 'b', known);
        return c.get('b') !== undefined;
      }, 15_000);
    } finally {
      await c.stop();
    }
  });
});

describe('PlayerAuthCache', () => {
  const known = (ownerId: number) => ({ registered: true, ownerId, ownerUserId: `u${ownerId}`, isModerator: false });
  const listening = () => {
    const c = new PlayerAuthCache(60_000, 3);
    // as after the listener connected and heard its own ping
    Object.assign(c as unknown as { listening: boolean; heardAt: number }, { listening: true, heardAt: Date.now() });
    return c;
  };

  it('serves nothing before its listener is connected', () => {
    const c = new PlayerAuthCache();
    c.keep(c.begin(), 'k', known(1));
    expect(c.get('k')).toBeUndefined();
  });

  it('keeps registered players only, forgets a player or all of an owner on notification', () => {
    const c = listening();
    c.keep(c.begin(), 'a', known(1));
    c.keep(c.begin(), 'b', known(1));
    c.keep(c.begin(), 'x', { ...known(2), registered: false });
    c.keep(c.begin(), 'n', null);
    expect(c.get('a')).toEqual(known(1));
    expect(c.get('x')).toBeUndefined();
    expect(c.get('n')).toBeUndefined();
    c.changed('A'); // keys compare in lower case
    expect(c.get('a')).toBeUndefined();
    expect(c.get('b')).toEqual(known(1));
    c.changed('user:1');
    expect(c.get('b')).toBeUndefined();
  });

  it('serves nothing, and forgets everything, when its listener has not been heard from for aliveMs', () => {
    const c = listening();
    c.keep(c.begin(), 'a', known(1));
    expect(c.get('a')).toEqual(known(1));
    (c as unknown as { heardAt: number }).heardAt = Date.now() - 10_000; // no ping for 10 s (aliveMs 5 s)
    expect(c.get('a')).toBeUndefined();
    c.changed('alive'); // heard again: yet what was known before is gone, and the ping changed nothing else
    expect(c.get('a')).toBeUndefined();
    expect(c.size).toBe(0);
    c.keep(c.begin(), 'a', known(1));
    expect(c.get('a')).toEqual(known(1));
  });

  it('does not keep what a look-up found while a change arrived (the epoch), and holds at most maxEntries', () => {
    const c = listening();
    const epoch = c.begin();
    c.changed('someone-else');
    c.keep(epoch, 'a', known(1));
    expect(c.get('a')).toBeUndefined();
    for (const k of ['p', 'q', 'r', 's']) c.keep(c.begin(), k, known(3));
    expect(c.size).toBe(3);
    expect(c.get('p')).toBeUndefined();
    expect(c.get('s')).toEqual(known(3));
  });
});

describe('RecentAnswers', () => {
  it('keeps the first answer per key, across one rotation, bounded per generation', () => {
    const r = new RecentAnswers<string>(60_000, 2);
    expect(r.put('a', 'first')).toBe('first');
    expect(r.put('a', 'second')).toBe('first');
    r.put('b', 'b');
    r.put('c', 'c'); // the generation was full: a and b move to the previous one
    expect(r.get('a')).toBe('first');
    r.put('d', 'd');
    r.put('e', 'e'); // a and b are gone now
    expect(r.get('a')).toBeUndefined();
    expect(r.get('e')).toBe('e');
  });
});
