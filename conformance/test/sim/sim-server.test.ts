// The simulator against the whole stack (our server, Mosquitto, PostgreSQL): the REST lifecycle
// (provision -> the owner registers the code -> credentials), mTLS with the issued certificate,
// commands sent by the owner through REST, requests answered by the server, a provisioned fleet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { MessageRouter } from '#runtime/v1';
import { playerStatus, PlayerStatusValidator } from '@makapix/contract/asyncapi/channels';
import type { PlayerStatus } from '@makapix/contract/asyncapi/schemas';
import { connectInternal, registerUser, startStack, type Stack, type TestUser } from '../../../server/test/support/stack.js';
import { registerWithOwners, SimFleet, SimPlayer } from '../../src/sim/index.js';
import { Inbox, type Received } from './inbox.js';

let stack: Stack;
let internal: MqttClient;
let router: MessageRouter;
let statuses: Inbox;
let owner: TestUser;
const players: SimPlayer[] = [];

beforeAll(async () => {
  stack = await startStack();
  internal = await connectInternal(stack);
  router = new MessageRouter(internal);
  statuses = await Inbox.open(router, playerStatus.topic.filter());
  owner = await registerUser(stack.api);
});

afterAll(async () => {
  await Promise.allSettled(players.map((p) => p.disconnect({ graceful: false })));
  await router?.close();
  await internal?.endAsync();
  await stack?.stop();
});

const statusOf = (key: string) => (m: Received) => playerStatus.topic.parse(m.topic)?.player_key === key;

/** Provisions a SimPlayer, registers its code as `owner` while it polls, and returns it with its player id. */
async function registeredPlayer(name: string, opts: { heartbeatMs?: number } = {}): Promise<{ player: SimPlayer; playerId: string; pending: (number | 'network')[] }> {
  const player = new SimPlayer({ heartbeatMs: opts.heartbeatMs ?? 60_000, firmwareVersion: 'sim-e2e' });
  players.push(player);
  const provisioned = await player.provision({ apiUrl: stack.server.url, deviceModel: 'sim-e2e-device' });
  const pending: (number | 'network')[] = [];
  // Polling starts before the owner registers: the first answers are 404.
  const creds = player.waitForCredentials({ pollMs: 100, timeoutMs: 10_000, onPending: (status) => pending.push(status) });
  while (pending.length === 0) await new Promise((r) => setTimeout(r, 20));
  const reg = await stack.api.registerPlayer({ body: { registration_code: provisioned.registration_code, name } }, { token: owner.token });
  expect(reg.status).toBe(201);
  if (reg.status !== 201) throw new Error('registerPlayer failed');
  expect((await creds).player_key).toBe(provisioned.player_key);
  return { player, playerId: reg.body.id, pending };
}

async function createPost(title: string): Promise<number> {
  const r = await stack.api.createPost({ body: { title, art_url: 'https://cdn.example.test/art/1.png', canvas: '64x64', width: 64, height: 64 } }, { token: owner.token });
  if (r.status !== 201) throw new Error(`createPost: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.post_id;
}

describe('lifecycle', () => {
  it('provisions, waits for the owner, fetches credentials and connects over mTLS (MQTT 5) to the broker the credentials name', async () => {
    const { player, pending } = await registeredPlayer('Sim MQTT 5');
    expect(pending[0]).toBe(404);
    const key = player.playerKey!;
    expect(player.credentials).toMatchObject({ player_key: key, broker: { port: Number(new URL(stack.services.urls.mqttMtls).port) } });
    const from = statuses.mark();
    await player.connect();
    const m = await statuses.next(statusOf(key), { from, what: 'first status' });
    expect(PlayerStatusValidator.issues(m.json)).toEqual([]);
    expect(m.json).toMatchObject({ player_key: key, status: 'online', firmware_version: 'sim-e2e' });
  });

  it('connects with MQTT 3.1.1 and heartbeats', async () => {
    const { player } = await registeredPlayer('Sim MQTT 3.1.1', { heartbeatMs: 300 });
    const key = player.playerKey!;
    const from = statuses.mark();
    await player.connect({ protocolVersion: 4 });
    const first = await statuses.next(statusOf(key), { from, what: 'first status' });
    const second = await statuses.next(statusOf(key), { from: statuses.messages.indexOf(first) + 1, what: 'heartbeat' });
    for (const m of [first, second]) expect(PlayerStatusValidator.issues(m.json)).toEqual([]);
    expect((second.json as PlayerStatus).status).toBe('online');
  });
});

describe('with the server', () => {
  it('a show_artwork sent by the owner through REST makes the next status report that post', async () => {
    const { player, playerId } = await registeredPlayer('Sim command');
    const key = player.playerKey!;
    let from = statuses.mark();
    await player.connect();
    await statuses.next(statusOf(key), { from, what: 'first status' });
    const postId = await createPost('Shown by REST');
    from = statuses.mark();
    const r = await stack.api.sendPlayerCommand({ params: { sqid: owner.sqid, player_id: playerId }, body: { command_type: 'show_artwork', post_id: postId } }, { token: owner.token });
    expect(r.status).toBe(200);
    const m = await statuses.next(statusOf(key), { from, what: 'status after the REST command' });
    expect(PlayerStatusValidator.issues(m.json)).toEqual([]);
    expect((m.json as PlayerStatus).current_post_id).toBe(postId);
  });

  it('query_posts is answered by the server; swap_next then shows the first post', async () => {
    const postId = await createPost('Listed for the sim');
    const { player, playerId } = await registeredPlayer('Sim query');
    const key = player.playerKey!;
    await player.connect();
    const reply = await player.fetchPosts({ limit: 10 });
    expect(reply).toMatchObject({ success: true, error: null });
    if (!reply.success) throw new Error('query_posts failed');
    expect(reply.posts.map((p) => p.post_id)).toContain(postId);
    expect(player.postIds).toEqual(reply.posts.map((p) => p.post_id));
    const from = statuses.mark();
    const r = await stack.api.sendPlayerCommand({ params: { sqid: owner.sqid, player_id: playerId }, body: { command_type: 'swap_next' } }, { token: owner.token });
    expect(r.status).toBe(200);
    const m = await statuses.next(statusOf(key), { from, what: 'status after swap_next' });
    expect((m.json as PlayerStatus).current_post_id).toBe(reply.posts[0].post_id);
  });

  it('a fleet provisions itself, is registered through the registration helper, and heartbeats', async () => {
    const from = statuses.mark();
    const fleet = new SimFleet({
      count: 3,
      provision: { apiUrl: stack.server.url, register: registerWithOwners(stack.server.url, [owner.token], (i) => `Fleet ${i}`), pollMs: 100, timeoutMs: 10_000 },
      player: { heartbeatMs: 400 },
    });
    try {
      const result = await fleet.start();
      expect(result).toEqual({ ready: 3, failed: [] });
      const keys = new Set(fleet.players.map((p) => p.playerKey!));
      const counts = new Map<string, number>();
      await statuses.next((m) => {
        const key = playerStatus.topic.parse(m.topic)?.player_key;
        if (!key || !keys.has(key) || !PlayerStatusValidator.check(m.json)) return false;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        return counts.size === 3 && [...counts.values()].every((n) => n >= 2);
      }, { from, timeoutMs: 10_000, what: 'two statuses from each fleet player' });
      // Registered to the owner under the helper's names.
      const list = await stack.api.listPlayers({ params: { sqid: owner.sqid } }, { token: owner.token });
      if (list.status !== 200) throw new Error(`listPlayers: ${list.status} ${JSON.stringify(list.body)}`);
      const names = list.body.players.filter((p) => keys.has(p.player_key)).map((p) => p.name).sort();
      expect(names).toEqual(['Fleet 0', 'Fleet 1', 'Fleet 2']);
    } finally {
      await fleet.stop();
    }
  }, 40_000);
});

describe('CLI', () => {
  it('--api with --register-token: provisions 2 players, prints their codes, heartbeats, goes offline on SIGINT', async () => {
    const bin = fileURLToPath(new URL('../../bin/makapix-player-sim.mjs', import.meta.url));
    const from = statuses.mark();
    const child = spawn(process.execPath, [
      bin, '--api', stack.server.url, '--count', '2', '--register-token', owner.token, '--poll-ms', '100', '--heartbeat-ms', '400', '--mqtt-version', '3.1.1',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const connectedLine = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "Connected" line; stdout: ${stdout}; stderr: ${stderr}`)), 25_000);
        child.stdout.on('data', () => {
          if (!stdout.includes('Connected: 2 player(s)')) return;
          clearTimeout(timer);
          resolve();
        });
      });
      await connectedLine;
      const codes = [...stdout.matchAll(/Registration code for player \d\/2: ([A-Z0-9]{6}) \(player_key ([0-9a-f-]{36}),/g)];
      expect(codes).toHaveLength(2);
      const keys = new Set(codes.map((c) => c[2]));
      const seen = new Map<string, number>();
      await statuses.next((m) => {
        const key = playerStatus.topic.parse(m.topic)?.player_key;
        if (!key || !keys.has(key) || !PlayerStatusValidator.check(m.json)) return false;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        return seen.size === 2 && [...seen.values()].every((n) => n >= 2);
      }, { from, timeoutMs: 10_000, what: 'two statuses from each CLI player' });
      const offFrom = statuses.mark();
      child.kill('SIGINT');
      const offline = new Set<string>();
      await statuses.next((m) => {
        const s = m.json as PlayerStatus;
        if (keys.has(s.player_key) && s.status === 'offline') offline.add(s.player_key);
        return offline.size === 2;
      }, { from: offFrom, what: 'offline status from both CLI players' });
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
