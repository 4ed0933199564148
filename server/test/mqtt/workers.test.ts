// The MQTT workers on a real stack with TWO server instances sharing the broker's $share groups and
// the database: each request answered exactly once, player status (heartbeats, last will, key
// mismatch, MQTT 3.1.1), the presence sweep (small interval and silence threshold from the
// configuration), and the outbox publisher (each notification published once).
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playerRequestTopic, playerStatusTopic, postNewForFollowerTopic, postNewInCategoryTopic, postNewTopic } from '@makapix/contract/asyncapi/channels';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import { publishPlayerStatus, requestQueryPosts, requestSubmitView } from '@makapix/contract/asyncapi/operations';
import type { PlayerStatus } from '@makapix/contract/asyncapi/schemas';
import { outbox, type Sql } from '../../src/db/index.js';
import { createPost, createUser, type FixtureUser } from '../support/fixtures.js';
import { connectInternal, connectPlayer, provisionPlayer, startStack, type Stack } from '../support/stack.js';
import { eventually, rid, wirePlayer, type TestConnection } from './helpers.js';

let stack: Stack;
let sql: Sql;
let owner: FixtureUser;
const clients: MqttClient[] = [];
const track = <T extends MqttClient>(c: T): T => (clients.push(c), c);

beforeAll(async () => {
  // both instances: a sweep every second, offline after 2 s of silence
  stack = await startStack({ env: { PRESENCE_SWEEP_SECONDS: '1', PRESENCE_TIMEOUT_SECONDS: '2' } });
  await stack.addServer();
  sql = stack.server.ctx.sql;
  owner = await createUser(stack);
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.endAsync(true)));
  await stack?.stop();
});

/** A counter summed over both instances (Prometheus metrics, server/src/metrics/). */
const metric = async (name: string, labels: Record<string, string> = {}): Promise<number> =>
  (await Promise.all(stack.servers.map((s) => s.ctx.metrics.value(name, labels)))).reduce((a, b) => a + b, 0);

interface PlayerRow {
  connection_status: string;
  last_seen_at: Date | null;
  current_post_id: number | null;
  firmware_version: string | null;
}
const playerRow = async (playerKey: string): Promise<PlayerRow> => {
  const [row] = await sql<PlayerRow[]>`
    select connection_status, last_seen_at, current_post_id, firmware_version from players where player_key = ${playerKey}`;
  return row!;
};

async function connected(opts: mqtt.IClientOptions = {}): Promise<TestConnection> {
  const player = await provisionPlayer(stack.api, owner);
  const client = track(await connectPlayer(stack, player, opts));
  return { player, ...(await wirePlayer(client, player)) };
}

describe('two server instances', () => {
  it('answer each of 40 concurrent requests exactly once, and split the load', async () => {
    const post = await createPost(sql, (await createUser(stack)).id);
    const c = await connected();
    const answered = (s: (typeof stack.servers)[number]) => s.ctx.metrics.value('makapix_mqtt_requests_total');
    const before = await Promise.all(stack.servers.map(answered));
    const requestIds = Array.from({ length: 40 }, () => rid());
    const answers = await Promise.all(
      requestIds.map((request_id, i) =>
        i % 2 === 0
          ? requestQueryPosts(c.requester, { request_id, request_type: 'query_posts', player_key: c.player.player_key, limit: 1 })
          : requestSubmitView(c.requester, { request_id, request_type: 'submit_view', player_key: c.player.player_key, post_id: post.post_id }),
      ),
    );
    for (const a of answers) expect(a.success).toBe(true);
    // A duplicate would arrive right after the first answer; give it a moment to show up, with a
    // positive control: a redelivery of one request published now gets its (stored) second answer
    // through the same path, so a duplicate would have been seen.
    const minimumWait = new Promise((r) => setTimeout(r, 300));
    const replayed = requestIds[1]!;
    await c.client.publishAsync(playerRequestTopic.format({ player_key: c.player.player_key, request_id: replayed }),
      JSON.stringify({ request_id: replayed, request_type: 'submit_view', player_key: c.player.player_key, post_id: post.post_id }), { qos: 1 });
    await c.responses.wait(replayed, 2);
    await minimumWait;
    for (const id of requestIds) expect(c.responses.of(id), id).toHaveLength(id === replayed ? 2 : 1);
    // 40 answers and the stored one sent again; the counters move once the broker acknowledged an answer
    const handledNow = async () => (await Promise.all(stack.servers.map(answered))).map((n, i) => n - before[i]!);
    await eventually(async () => (await handledNow()).reduce((a, b) => a + b, 0) >= 41);
    const handled = await handledNow();
    expect(handled.reduce((a, b) => a + b, 0)).toBe(41);
    for (const n of handled) expect(n).toBeGreaterThan(0);
    const [views] = await sql<{ n: number }[]>`select count(*)::int as n from view_events where post_id = ${post.post_id}`;
    expect(views!.n).toBe(20);
  });

  it('publish each outbox notification exactly once, validated through its channel; a row no channel accepts is parked', async () => {
    const watcher = track(await connectInternal(stack));
    const received: string[] = [];
    watcher.on('message', (topic) => received.push(topic));
    await watcher.subscribeAsync('makapix/post/new/#', { qos: 1 });
    const base = messageExamples.PostNotification.new_post;
    const followers = await Promise.all([1, 2, 3].map(() => createUser(stack)));
    const rows = Array.from({ length: 30 }, (_, i) => {
      const post_id = 500_000 + i;
      const payload = { ...base, post_id, owner_id: owner.user_id, owner_handle: owner.handle };
      if (i % 3 === 0) return { topic: postNewTopic.format({ post_id }), payload };
      if (i % 3 === 1) return { topic: postNewForFollowerTopic.format({ follower_id: followers[i % 3]!.user_id, post_id }), payload };
      return { topic: postNewInCategoryTopic.format({ category: 'frontpage', post_id }), payload: { ...payload, promoted_category: 'frontpage' } };
    });
    const bad = [
      { topic: 'makapix/post/old/1', payload: base },
      { topic: postNewTopic.format({ post_id: 1 }), payload: { ...base, title: '' } },
    ];
    const ids = await sql.begin((tx) => outbox.enqueue(tx, [...rows, ...bad]));
    // No explicit wake-up: LISTEN/NOTIFY (or the poll) must get both instances going.
    await eventually(async () => received.length >= rows.length, 10_000);
    await eventually(async () => {
      const [r] = await sql<{ n: number }[]>`select count(*)::int as n from outbox where id = any(${ids.slice(0, rows.length).map(String)}::bigint[]) and published_at is not null`;
      return r!.n === rows.length;
    });
    // A duplicate publish would follow the first closely; give it a moment to show up, with a
    // positive control: a notification enqueued now is published and received meanwhile.
    const minimumWait = new Promise((r) => setTimeout(r, 300));
    const control = { topic: postNewTopic.format({ post_id: 599_999 }), payload: { ...base, post_id: 599_999, owner_id: owner.user_id, owner_handle: owner.handle } };
    await sql.begin((tx) => outbox.enqueue(tx, [control]));
    await eventually(async () => received.includes(control.topic), 10_000);
    await minimumWait;
    expect([...received].sort()).toEqual([...rows, control].map((r) => r.topic).sort());
    const parked = await sql<{ published_at: Date | null; last_error: string | null; claimed_until: Date | null }[]>`
      select published_at, last_error, claimed_until from outbox where id = any(${ids.slice(rows.length).map(String)}::bigint[]) order by id`;
    expect(parked).toHaveLength(2);
    for (const p of parked) {
      expect(p.published_at).toBeNull();
      expect(p.last_error).toEqual(expect.any(String));
      expect(p.claimed_until!.getTime()).toBeGreaterThan(Date.now() + 3600_000);
    }
    expect(parked[0]!.last_error).toMatch(/not a notification channel/);
    expect(parked[1]!.last_error).toMatch(/title/);
  });
});

describe('player status', () => {
  it('a heartbeat sets online, last_seen_at, current post and firmware; a later one without the post keeps it', async () => {
    const c = await connected();
    const post = await createPost(sql, owner.id);
    expect((await playerRow(c.player.player_key)).connection_status).toBe('offline');
    const since = Date.now() - 1000;
    const heartbeat: PlayerStatus = { ...messageExamples.PlayerStatus.firmware_heartbeat, player_key: c.player.player_key, current_post_id: post.post_id, firmware_version: '2.5.1' };
    await publishPlayerStatus(c.client, { player_key: c.player.player_key }, heartbeat);
    const row = await eventually(async () => {
      const r = await playerRow(c.player.player_key);
      return r.connection_status === 'online' && r.firmware_version === '2.5.1' ? r : null;
    });
    expect(row.current_post_id).toBe(post.post_id);
    expect(row.last_seen_at!.getTime()).toBeGreaterThan(since);
    const { current_post_id: _dropped, ...withoutPost } = { ...messageExamples.PlayerStatus.heartbeat, player_key: c.player.player_key, firmware_version: '2.5.2' };
    await publishPlayerStatus(c.client, { player_key: c.player.player_key }, withoutPost);
    await eventually(async () => (await playerRow(c.player.player_key)).firmware_version === '2.5.2');
    expect((await playerRow(c.player.player_key)).current_post_id).toBe(post.post_id);
    await publishPlayerStatus(c.client, { player_key: c.player.player_key }, { ...messageExamples.PlayerStatus.clock_not_set, player_key: c.player.player_key });
    await eventually(async () => (await playerRow(c.player.player_key)).current_post_id === null);
  });

  it('a status with a control character in firmware_version is refused and does not hold up another player\'s status', async () => {
    const bad = await connected();
    const good = await connected();
    const dropped = await metric('makapix_mqtt_dropped_total', { reason: 'schema' });
    // raw publishes: the generated publisher would refuse the invalid payload before sending it
    await bad.client.publishAsync(playerStatusTopic.format({ player_key: bad.player.player_key }),
      JSON.stringify({ player_key: bad.player.player_key, status: 'online', firmware_version: 'a\u0000b' }), { qos: 1 });
    await good.client.publishAsync(playerStatusTopic.format({ player_key: good.player.player_key }),
      JSON.stringify({ player_key: good.player.player_key, status: 'online', firmware_version: '3.0.0' }), { qos: 1 });
    await eventually(async () => (await playerRow(good.player.player_key)).firmware_version === '3.0.0');
    await eventually(async () => (await metric('makapix_mqtt_dropped_total', { reason: 'schema' })) === dropped + 1);
    // unchanged: still the version it provisioned with
    expect((await playerRow(bad.player.player_key))).toMatchObject({ connection_status: 'offline', firmware_version: '1.0.0' });
  });

  it('a payload key other than the topic key is dropped and counted; an unregistered player changes nothing', async () => {
    const c = await connected();
    const other = await connected();
    const dropped = await metric('makapix_mqtt_dropped_total', { reason: 'key_mismatch' });
    await publishPlayerStatus(c.client, { player_key: c.player.player_key }, { ...messageExamples.PlayerStatus.heartbeat, player_key: other.player.player_key, current_post_id: null });
    await eventually(async () => (await metric('makapix_mqtt_dropped_total', { reason: 'key_mismatch' })) === dropped + 1);
    expect((await playerRow(c.player.player_key)).connection_status).toBe('offline');
    expect((await playerRow(other.player.player_key)).connection_status).toBe('offline');

    const pending = await stack.api.provisionPlayer({ body: {} });
    if (pending.status !== 201) throw new Error(JSON.stringify(pending.body));
    const key = pending.body.player_key;
    const internal = track(await connectInternal(stack));
    const ignored = await metric('makapix_status_updates_total', { result: 'ignored' });
    await publishPlayerStatus(internal, { player_key: key }, { ...messageExamples.PlayerStatus.heartbeat, player_key: key });
    await eventually(async () => (await metric('makapix_status_updates_total', { result: 'ignored' })) > ignored);
    expect(await playerRow(key)).toMatchObject({ connection_status: 'offline', last_seen_at: null, firmware_version: null, current_post_id: null });
  });

  it('the last will marks the player offline when its connection is destroyed (MQTT 3.1.1 firmware style)', async () => {
    const player = await provisionPlayer(stack.api, owner);
    const will = { ...messageExamples.PlayerStatus.last_will, player_key: player.player_key };
    const client = track(await connectPlayer(stack, player, {
      protocolVersion: 4,
      keepalive: 60,
      will: { topic: playerStatusTopic.format({ player_key: player.player_key }), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: false },
    }));
    const c = { player, ...(await wirePlayer(client, player)) };
    await publishPlayerStatus(client, { player_key: player.player_key }, { ...messageExamples.PlayerStatus.heartbeat, player_key: player.player_key, current_post_id: null });
    await eventually(async () => (await playerRow(player.player_key)).connection_status === 'online');
    // Requests work over 3.1.1 too.
    expect((await requestQueryPosts(c.requester, { request_id: rid(), request_type: 'query_posts', player_key: player.player_key, limit: 1 })).success).toBe(true);
    const cut = Date.now();
    client.stream.destroy();
    const row = await eventually(async () => {
      const r = await playerRow(player.player_key);
      return r.connection_status === 'offline' ? r : null;
    });
    // Written by the will (which refreshes last_seen_at), not by the presence sweep (which does not).
    expect(row.last_seen_at!.getTime()).toBeGreaterThanOrEqual(cut - 50);
  });

  it('the presence sweep marks a player offline after the silence threshold', async () => {
    const c = await connected();
    await publishPlayerStatus(c.client, { player_key: c.player.player_key }, { ...messageExamples.PlayerStatus.heartbeat, player_key: c.player.player_key, current_post_id: null });
    await eventually(async () => (await playerRow(c.player.player_key)).connection_status === 'online');
    const swept = await metric('makapix_players_marked_offline_total');
    // Still connected, but silent: PRESENCE_TIMEOUT_SECONDS=2, swept every second.
    await eventually(async () => (await playerRow(c.player.player_key)).connection_status === 'offline', 8_000, 100);
    expect(await metric('makapix_players_marked_offline_total')).toBeGreaterThan(swept);
    expect(c.client.connected).toBe(true);
  });
});

describe('stopping an instance', () => {
  it('unsubscribes it: the remaining instance answers every request', async () => {
    const c = await connected();
    const second = stack.servers[1]!;
    await second.stop();
    stack.servers.splice(1, 1);
    const ids = Array.from({ length: 10 }, () => rid());
    const answers = await Promise.all(ids.map((request_id) =>
      requestQueryPosts(c.requester, { request_id, request_type: 'query_posts', player_key: c.player.player_key, limit: 1 }, { timeoutMs: 5_000 })));
    for (const a of answers) expect(a.success).toBe(true);
  });
});
