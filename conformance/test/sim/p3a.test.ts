// The simulator's p3a profile against the whole stack (our server, Mosquitto with mTLS,
// PostgreSQL, real certificates): the firmware's rules from FIRMWARE_P3A.md as seen from the
// broker and the server. Provisioning and polling under /api; MQTT 3.1; retained capabilities and
// state; p3a's status; request ids, field order and its retry timings; channel walks; views and
// view/ack; show_artwork ignored without storage_shard/native_format; acknowledged set_* commands;
// play_channel; certificate renewal and the reconnect with the new certificate.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { X509Certificate } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { MqttClient } from 'mqtt';
import { MessageRouter, RequestTimeoutError } from '#runtime/v1';
import {
  playerCapabilities, playerRequest, playerState, playerStatus, PlayerStatusValidator,
} from '@makapix/contract/asyncapi/channels';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import { publishPlayerCommand } from '@makapix/contract/asyncapi/operations';
import type { CommandAck, PlayerView } from '@makapix/contract/asyncapi/schemas';
import { createPost, createPosts, createUser, type FixtureUser } from '../../../server/test/support/fixtures.js';
import { connectInternal, startStack, type Stack } from '../../../server/test/support/stack.js';
import { until } from '../../../server/test/support/until.js';
import { firmwareShard, P3A_TIMINGS, SimPlayer, type ShownArtwork, type SimPlayerOptions, type WalkResult } from '../../src/sim/index.js';
import { Inbox, nextEvent, type Received } from './inbox.js';
import { loadCaseFiles } from '../../src/cases/load.js';
import { P3A_PLAYER_FEATURES, runPlayerSuite } from '../../src/player/suite.js';
import { readKnownFailing } from '../../src/run/known-failing.js';

let stack: Stack;
let internal: MqttClient;
let router: MessageRouter;
let statuses: Inbox;
let requests: Inbox;
let owner: FixtureUser;
let author: FixtureUser;
const players: SimPlayer[] = [];

beforeAll(async () => {
  stack = await startStack();
  internal = await connectInternal(stack);
  router = new MessageRouter(internal);
  statuses = await Inbox.open(router, playerStatus.topic.filter());
  requests = await Inbox.open(router, playerRequest.topic.filter());
  owner = await createUser(stack);
  author = await createUser(stack);
});

afterAll(async () => {
  await Promise.allSettled(players.map((p) => p.disconnect({ graceful: false })));
  await router?.close();
  await internal?.endAsync();
  await stack?.stop();
});

const sql = () => stack.server.ctx.sql;
const original = { subscribe: MqttClient.prototype.subscribe, publish: MqttClient.prototype.publish };
const ofKey = (key: string) => (m: Received) => m.topic.includes(`/player/${key}/`);
const P3A_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

/** A p3a-profile player: provisioned under /api (polling while the owner registers), then connected. */
async function p3aPlayer(opts: SimPlayerOptions = {}): Promise<{ player: SimPlayer; playerId: string; pending: (number | 'network')[] }> {
  const got = await registeredP3a(opts);
  const from = statuses.mark();
  await got.player.connect();
  await statuses.next(ofKey(got.player.playerKey!), { from, what: 'first status' });
  return got;
}

/** A p3a-profile player with its credentials, not connected yet. */
async function registeredP3a(opts: SimPlayerOptions = {}): Promise<{ player: SimPlayer; playerId: string; pending: (number | 'network')[] }> {
  const player = new SimPlayer({ profile: 'p3a', heartbeatMs: 60_000, credentialsPollMs: 50, walkPageDelayMs: 10, viewFirstMs: 50, viewEveryMs: 100_000, ...opts });
  players.push(player);
  const provisioned = await player.provision({ apiUrl: stack.server.url });
  const pending: (number | 'network')[] = [];
  const creds = player.waitForCredentials({ timeoutMs: 10_000, onPending: (s) => pending.push(s) });
  await until('the first 404 while polling', () => pending.length > 0, 10_000, 10);
  const reg = await stack.api.registerPlayer({ body: { registration_code: provisioned.registration_code, name: 'p3a sim' } }, { token: owner.token });
  if (reg.status !== 201) throw new Error(`registerPlayer: ${reg.status} ${JSON.stringify(reg.body)}`);
  await creds;
  return { player, playerId: reg.body.id, pending };
}

/** Messages a fresh subscriber gets on a topic at once: the retained one. */
async function retained(topic: string): Promise<unknown> {
  const inbox = await Inbox.open(router, topic);
  try {
    return (await inbox.next(() => true, { what: `retained message on ${topic}` })).json;
  } finally {
    await inbox.close();
  }
}

const sendCommand = (playerId: string, body: Record<string, unknown>) =>
  stack.api.sendPlayerCommand({ params: { sqid: owner.sqid, player_id: playerId }, body: body as never }, { token: owner.token });

describe('p3a profile: provisioning and connection', () => {
  let player: SimPlayer;

  it('provisions as p3a under /api, polls until registered, keeps the device token, connects over MQTT 3.1 as p3a-{key}', async () => {
    const got = await p3aPlayer();
    player = got.player;
    expect(got.pending[0]).toBe(404);
    expect(player.credentials?.api_token).toMatch(/^mpd_/);
    const [row] = await sql()<{ device_model: string; firmware_version: string }[]>`select device_model, firmware_version from players where id = ${got.playerId}`;
    expect(row).toMatchObject({ device_model: 'p3a', firmware_version: '1.1.1' });
    // what the client sent in CONNECT (the broker accepted it)
    const options = (player as unknown as { client: MqttClient }).client.options;
    expect(options).toMatchObject({ protocolId: 'MQIsdp', protocolVersion: 3, clientId: `p3a-${player.playerKey}`, username: player.playerKey, keepalive: 60, clean: true });
    expect(options.will).toMatchObject({ topic: playerStatus.topic.format({ player_key: player.playerKey! }), qos: 1, retain: false });
    expect(JSON.parse(String(options.will!.payload))).toEqual({ player_key: player.playerKey, status: 'offline' });
  });

  it("publishes the spec's p3a capabilities and state retained, and status as p3a sends it", async () => {
    const key = player.playerKey!;
    expect(await retained(playerCapabilities.topic.format({ player_key: key }))).toEqual(messageExamples.PlayerCapabilities.p3a);
    expect(await retained(playerState.topic.format({ player_key: key }))).toEqual(messageExamples.PlayerState.p3a);
    const s = await statuses.next(ofKey(key), { what: 'status' });
    expect(PlayerStatusValidator.issues(s.json)).toEqual([]);
    expect(s.json).toEqual({ player_key: key, status: 'online', current_post_id: null, firmware_version: '1.1.1', timestamp: expect.stringMatching(P3A_TIME) });
    // the server stored them
    await until('capabilities stored', async () => {
      const [d] = await sql()<{ capabilities: unknown }[]>`select capabilities from players where player_key = ${key}`;
      return d?.capabilities;
    }, 10_000);
  });

  it('subscribes QoS 1 to command, response/#, view/ack in that order, then publishes capabilities and state retained, then status', async () => {
    const { player: p } = await registeredP3a();
    const key = p.playerKey!;
    const mine = (c: MqttClient) => c.options.clientId === `p3a-${key}`;
    const calls: string[] = [];
    const sub = vi.spyOn(MqttClient.prototype, 'subscribe').mockImplementation(function (this: MqttClient, ...args: Parameters<MqttClient['subscribe']>) {
      if (mine(this)) calls.push(`subscribe ${String(args[0])} qos ${(args[1] as { qos?: number } | undefined)?.qos}`);
      return original.subscribe.apply(this, args);
    });
    const pub = vi.spyOn(MqttClient.prototype, 'publish').mockImplementation(function (this: MqttClient, ...args: Parameters<MqttClient['publish']>) {
      if (mine(this)) calls.push(`publish ${String(args[0]).replace(`makapix/player/${key}/`, '')} qos ${(args[2] as { qos?: number }).qos} retain ${(args[2] as { retain?: boolean }).retain === true}`);
      return original.publish.apply(this, args);
    });
    try {
      await p.connect();
    } finally {
      sub.mockRestore();
      pub.mockRestore();
    }
    const base = `makapix/player/${key}`;
    expect(calls).toEqual([
      `subscribe ${base}/command qos 1`,
      `subscribe ${base}/response/# qos 1`,
      `subscribe ${base}/view/ack qos 1`,
      'publish capabilities qos 1 retain true',
      'publish state qos 1 retain true',
      'publish status qos 1 retain false',
    ]);
  });

  it('heartbeats at its period', async () => {
    const { player: p } = await p3aPlayer({ heartbeatMs: 200 });
    const key = p.playerKey!;
    const from = statuses.mark();
    const a = await statuses.next(ofKey(key), { from, what: 'heartbeat' });
    const b = await statuses.next(ofKey(key), { from: statuses.messages.indexOf(a) + 1, what: 'second heartbeat' });
    expect(b.at - a.at).toBeGreaterThanOrEqual(150);
    expect(b.json).toMatchObject({ firmware_version: '1.1.1', timestamp: expect.stringMatching(P3A_TIME) });
  });
});

describe('p3a profile: requests and walks', () => {
  let player: SimPlayer;

  beforeAll(async () => {
    ({ player } = await p3aPlayer());
  });

  it("sends 32-hex request ids, p3a's field order, and get_post", async () => {
    const post = await createPost(sql(), author.id, { native_format: 'png' });
    const from = requests.mark();
    const r = await player.requestGetPost({ post_id: post.post_id });
    expect(r.success).toBe(true);
    const m = await requests.next(ofKey(player.playerKey!), { from, what: 'get_post request' });
    const body = m.json as Record<string, unknown>;
    expect(body.request_id).toMatch(/^[0-9a-f]{32}$/);
    expect(m.topic.endsWith(`/request/${body.request_id as string}`)).toBe(true);
    expect(Object.keys(body)).toEqual(['request_type', 'post_id', 'request_id', 'player_key']);
  });

  it('re-publishes an unanswered request with the same id: 3 attempts, 1 s then 2 s apart', async () => {
    const from = requests.mark();
    // a 1 ms wait per attempt: every answer comes too late, so each attempt times out
    await expect(player.requestGetPost({ post_id: 1 }, { timeoutMs: 1 })).rejects.toBeInstanceOf(RequestTimeoutError);
    // the observer records the third attempt when the broker delivers it, which can be after the rejection
    await until('the three attempts to be seen', async () => requests.messages.slice(from).filter(ofKey(player.playerKey!)).length >= 3);
    const sent = requests.messages.slice(from).filter(ofKey(player.playerKey!));
    expect(sent).toHaveLength(3);
    const ids = new Set(sent.map((m) => (m.json as { request_id: string }).request_id));
    expect(ids.size).toBe(1);
    expect(sent[1]!.at - sent[0]!.at).toBeGreaterThanOrEqual(1000 - 50);
    expect(sent[2]!.at - sent[1]!.at).toBeGreaterThanOrEqual(2000 - 50);
    expect(P3A_TIMINGS).toMatchObject({ requestTimeoutMs: 10_000, requestAttempts: 3, retryDelaysMs: [1000, 2000] });
  });

  it('walks a channel page by page (cursor null first, then next_cursor), and stops at maxPosts', async () => {
    const mine = await createPosts(sql(), author.id, 5, () => ({ native_format: 'png' }));
    const from = requests.mark();
    const walk = await player.walkChannel('by_user', { user_sqid: author.sqid, pageSize: 2 });
    expect(walk.complete).toBe(true);
    expect(walk.error).toBeUndefined();
    expect(walk.pages).toBeGreaterThanOrEqual(3);
    expect(walk.posts.map((p) => p.post_id)).toEqual(expect.arrayContaining(mine.map((p) => p.post_id)));
    const sent = requests.messages.slice(from).filter(ofKey(player.playerKey!)).map((m) => m.json as Record<string, unknown>);
    expect(sent[0]).toMatchObject({ request_type: 'query_posts', channel: 'by_user', user_sqid: author.sqid, sort: 'server_order', cursor: null, limit: 2 });
    expect(typeof sent[1]!.cursor).toBe('string');
    const capped = await player.walkChannel('by_user', { user_sqid: author.sqid, pageSize: 2, maxPosts: 3 });
    expect(capped).toMatchObject({ complete: true, pages: 2 });
    expect(capped.posts).toHaveLength(3);
  });

  it('aborts the walk on an error answer', async () => {
    const walk = await player.walkChannel('hashtag', {}); // no hashtag: invalid_request
    expect(walk).toMatchObject({ complete: false, pages: 1, posts: [], error: { success: false, error_code: 'invalid_request' } });
  });
});

describe('p3a profile: commands and views', () => {
  let player: SimPlayer;
  let playerId: string;

  beforeAll(async () => {
    ({ player, playerId } = await p3aPlayer({ viewRequestAck: true, vaultUrl: `${stack.server.url}/vault` }));
  });

  it('ignores a show_artwork without storage_shard/native_format (and says so)', async () => {
    const key = player.playerKey!;
    const cmd = structuredClone(messageExamples.ShowArtworkCommand.show_artwork);
    delete (cmd.payload as { storage_shard?: string }).storage_shard;
    delete (cmd.payload as { native_format?: string }).native_format;
    const ignored = nextEvent<{ reason: string }>(player, 'ignored-command');
    await publishPlayerCommand(internal, { player_key: key }, cmd);
    expect((await ignored).reason).toMatch(/storage_shard/);
    expect(player.currentPostId).toBeNull();
  });

  it('shows a show_artwork sent through REST (shard as the firmware computes it) and reports views, with view/ack', async () => {
    const post = await createPost(sql(), author.id, { native_format: 'png' });
    const shown = nextEvent<ShownArtwork>(player, 'artwork');
    const view = nextEvent<PlayerView>(player, 'view');
    const ack = nextEvent<{ success: boolean }>(player, 'view-ack');
    const r = await sendCommand(playerId, { command_type: 'show_artwork', post_id: post.post_id });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const a = await shown;
    expect(a).toMatchObject({ post_id: post.post_id, storage_key: post.storage_key, storage_shard: firmwareShard(post.storage_key), native_format: 'png' });
    expect(a.url).toBe(`${stack.server.url}/vault/${firmwareShard(post.storage_key)}/${post.storage_key}.png`);
    expect(player.currentPostId).toBe(post.post_id);
    expect(await view).toMatchObject({ post_id: post.post_id, intent: 'artwork', timezone: '', play_order: 1, request_ack: true, timestamp: expect.stringMatching(P3A_TIME) });
    expect(await ack).toEqual({ success: true });
    await until('the view recorded', async () => {
      const rows = await sql()<{ view_type: string }[]>`select view_type from view_events where post_id = ${post.post_id}`;
      return rows.length === 1 && rows[0]!.view_type === 'intentional';
    }, 10_000);
  });

  it('acknowledges set_brightness, set_rotation and set_paused on command/ack and republishes the retained state', async () => {
    const key = player.playerKey!;
    for (const [body, state] of [
      [{ command_type: 'set_brightness', value: 40 }, { brightness: 40 }],
      [{ command_type: 'set_rotation', value: 90 }, { rotation: 90 }],
      [{ command_type: 'set_paused', paused: true }, { is_paused: true }],
    ] as const) {
      const acked = nextEvent<CommandAck>(player, 'command-ack');
      const r = await sendCommand(playerId, body);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      const a = await acked;
      expect(a).toEqual({ command_id: (r.body as { command_id: string }).command_id, status: 'ok', error: null });
      expect(player.displayState).toMatchObject(state);
      // the server records the ack on the command
      await until(`${body.command_type} ack recorded`, async () => {
        const [row] = await sql()<{ ack_status: string | null }[]>`select ack_status from player_commands where command_id = ${a.command_id}`;
        return row?.ack_status === 'ok';
      }, 10_000);
    }
    expect(await retained(playerState.topic.format({ player_key: key }))).toEqual({ is_paused: true, brightness: 40, rotation: 90 });
  });

  it('play_channel walks the channel and plays it (views with intent channel)', async () => {
    const tagged = await createPosts(sql(), author.id, 3, () => ({ native_format: 'png', hashtags: ['p3asim'] }));
    const walked = nextEvent<WalkResult>(player, 'walk');
    const view = nextEvent<PlayerView>(player, 'view', (v) => v.intent === 'channel');
    const r = await sendCommand(playerId, { command_type: 'play_channel', channel_name: 'hashtag', hashtag: 'p3asim' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const w = await walked;
    expect(w).toMatchObject({ channel: 'hashtag', complete: true });
    expect(w.posts.map((p) => p.post_id).sort()).toEqual(tagged.map((p) => p.post_id).sort());
    expect(await view).toMatchObject({ intent: 'channel', channel: 'hashtag', channel_hashtag: 'p3asim', channel_user_sqid: null });
  });

  it('reports a view at viewFirstMs of display and again every viewEveryMs (firmware: 5 s, then 30 s)', async () => {
    const { player: p, playerId: id } = await p3aPlayer({ viewFirstMs: 100, viewEveryMs: 300 });
    const post = await createPost(sql(), author.id, { native_format: 'gif' });
    const views: { at: number; view: PlayerView }[] = [];
    p.on('view', (view) => views.push({ at: Date.now(), view }));
    const sentAt = Date.now();
    expect((await sendCommand(id, { command_type: 'show_artwork', post_id: post.post_id })).status).toBe(200);
    await until('three views', () => views.length >= 3, 10_000, 20);
    expect(views[0]!.at - sentAt).toBeGreaterThanOrEqual(100 - 20);
    expect(views[1]!.at - views[0]!.at).toBeGreaterThanOrEqual(300 - 20);
    expect(views[2]!.at - views[1]!.at).toBeGreaterThanOrEqual(300 - 20);
    expect(views.map((v) => v.view.post_id)).toEqual([post.post_id, post.post_id, post.post_id]);
    expect(views[0]!.view).toEqual({
      post_id: post.post_id, timestamp: expect.stringMatching(P3A_TIME), timezone: '', intent: 'artwork', play_order: 1, channel: 'all',
      player_key: p.playerKey, channel_user_sqid: null, channel_hashtag: null, request_ack: false,
    });
    await p.disconnect();
  });

  it('the last will goes out when the connection drops', async () => {
    const { player: p } = await p3aPlayer();
    const key = p.playerKey!;
    const from = statuses.mark();
    await p.disconnect({ graceful: false });
    const will = await statuses.next(ofKey(key), { from, what: 'last will' });
    expect(will.json).toEqual({ player_key: key, status: 'offline' });
  });
});

describe('the player suite against the p3a profile', () => {
  it('passes with the p3a features (the bare 1.0 show_artwork cases need show_artwork_1_0, which p3a lacks), none known failing', async () => {
    const { player } = await registeredP3a({ heartbeatMs: 1000, queryOnConnect: true, viewFirstMs: 5000 });
    let connecting: Promise<void> | undefined;
    const result = await runPlayerSuite(
      {
        brokerUrl: stack.services.urls.mqttInternal, username: stack.services.serverAccount.username, password: stack.services.serverAccount.password,
        playerKey: player.playerKey!, timeoutMs: 5000, heartbeatMs: 1000, toleranceMs: 1000, features: [...P3A_PLAYER_FEATURES],
      },
      loadCaseFiles(),
      { run: [], knownFailing: readKnownFailing(fileURLToPath(new URL('../../known-failing/player-p3a.txt', import.meta.url))) },
      () => { connecting = player.connect(); },
    );
    await connecting;
    const summary = result.results.map((r) => `${r.status} ${r.name}${r.mismatches.length ? ` ${JSON.stringify(r.mismatches)}` : ''}`).join('\n');
    expect(result.totals.failed, summary).toBe(0);
    expect(result.stale, summary).toEqual([]);
    expect(result.results.filter((r) => r.status === 'known_failing').map((r) => r.name), summary).toEqual([]);
    expect(result.results.find((r) => r.name === 'player/command/p3a_show_artwork')?.status, summary).toBe('passed');
    expect(result.results.find((r) => r.name === 'player/command/survives_invalid_command')?.status, summary).toBe('passed');
    expect(result.results.filter((r) => r.status === 'skipped').map((r) => r.name).sort(), summary).toEqual(['player/command/show_animated_artwork', 'player/command/show_artwork']);
    expect(result.totals.passed, summary).toBeGreaterThanOrEqual(14);
  }, 90_000);
});

describe('p3a profile: certificate renewal', () => {
  it('429 (rate limited) is "later", not a failure', async () => {
    const { player } = await p3aPlayer();
    const outcomes: string[] = [];
    for (let i = 0; i < 10 && !outcomes.includes('later'); i++) outcomes.push((await player.renewCertificate()).outcome);
    expect(outcomes.at(-1)).toBe('later');
    expect(new Set(outcomes.slice(0, -1))).toEqual(new Set(['not_due']));
  });

  it('400 outside the window; inside it renews (rotating a dead token first) and reconnects with the new certificate', async () => {
    const { player, playerId } = await p3aPlayer();
    expect(await player.renewCertificate()).toMatchObject({ outcome: 'not_due', status: 400 });
    const oldSerial = new X509Certificate(player.credentials!.cert_pem).serialNumber;
    // the window is 30 days (CERT_RENEW_WINDOW_DAYS, less than the validity by configuration): move the expiry into it
    await sql()`update players set cert_expires_at = now() + interval '10 days' where id = ${playerId}`;
    // kill the device token: the firmware rotates it on 401 and retries once
    const rot = await stack.api.rotatePlayerToken({ params: { player_key: player.playerKey! } });
    expect(rot.status).toBe(200);
    const from = statuses.mark();
    const renewed = await player.renewCertificate();
    expect(renewed).toMatchObject({ outcome: 'renewed', rotatedToken: true, reconnected: true });
    expect(new X509Certificate(player.credentials!.cert_pem).serialNumber).not.toBe(oldSerial);
    expect(player.connected).toBe(true);
    await statuses.next(ofKey(player.playerKey!), { from, what: 'status after the reconnect' });
    // the reconnected player works: a request is answered
    expect((await player.requestQueryPosts({ channel: 'all', limit: 1 })).success).toBe(true);
  });
});

