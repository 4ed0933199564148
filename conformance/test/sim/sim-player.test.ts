// The simulator against the real broker (mTLS listener, ACLs, wills), with certificates from the dev
// CA and the server account playing the server's side. No Makapix server is started here: these
// behaviours are the player's own (the REST lifecycle is in sim-server.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { MessageRouter, RequestTimeoutError, type InboundError } from '#runtime/v1';
import {
  playerCommand, playerStatus, PlayerStatusValidator, type PlayerRequestMessage,
} from '@makapix/contract/asyncapi/channels';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import { publishPlayerCommand, publishPlayerResponse, subscribePlayerRequest } from '@makapix/contract/asyncapi/operations';
import type { PlayerStatus } from '@makapix/contract/asyncapi/schemas';
import { ensureDevPki, issueClientCert, type DevPki } from '../../../server/devenv/pki.js';
import { startBroker, type Broker } from '../../../server/devenv/broker.js';
import { kickClient } from '../../../server/devenv/revoke.js';
import { runSimCli, SimFleet, SimPlayer, type SimCredentials, type SimPlayerOptions } from '../../src/sim/index.js';
import { Inbox, nextEvent, type Received } from './inbox.js';

const tmp = mkdtempSync(join(tmpdir(), 'makapix-sim-'));
chmodSync(tmp, 0o711);
let pki: DevPki;
let broker: Broker;
let internal: MqttClient;
let router: MessageRouter;
let statuses: Inbox;
const players: SimPlayer[] = [];

const showArtwork = messageExamples.ShowArtworkCommand.show_artwork;
const firstPage = messageExamples.QueryPostsResponse.first_page;

beforeAll(async () => {
  pki = await ensureDevPki(join(tmp, 'pki'));
  broker = await startBroker({ dir: join(tmp, 'mosquitto'), pki });
  internal = await mqtt.connectAsync(broker.urls.internal, { protocolVersion: 5, ...broker.serverAccount, reconnectPeriod: 0 });
  router = new MessageRouter(internal);
  statuses = await Inbox.open(router, playerStatus.topic.filter());
});

afterAll(async () => {
  await Promise.allSettled(players.map((p) => p.disconnect({ graceful: false })));
  await router?.close();
  await internal?.endAsync();
  await broker?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function credentials(): Promise<SimCredentials & { key_pem: string }> {
  const key = randomUUID();
  const cert = await issueClientCert(pki.dir, key);
  const url = new URL(broker.urls.mtls);
  return { player_key: key, ca_pem: readFileSync(broker.caCert, 'utf8'), cert_pem: cert.certPem, key_pem: cert.keyPem, broker: { host: url.hostname, port: Number(url.port) } };
}

const statusOf = (key: string) => (m: Received) => playerStatus.topic.parse(m.topic)?.player_key === key;

/** A connected player whose first status has already reached the server account (so later marks see only what follows). */
async function connected(opts: SimPlayerOptions = {}, protocolVersion: 4 | 5 = 5): Promise<SimPlayer> {
  const creds = opts.credentials ?? (await credentials());
  const p = new SimPlayer({ heartbeatMs: 60_000, ...opts, credentials: creds });
  players.push(p);
  const from = statuses.mark();
  await p.connect({ protocolVersion });
  await statuses.next(statusOf(creds.player_key), { from, what: 'first status' });
  return p;
}

/** The topic key, the payload key and the schema must all agree. */
function expectValidStatus(m: Received, key: string): PlayerStatus {
  expect(PlayerStatusValidator.issues(m.json)).toEqual([]);
  expect(playerStatus.topic.parse(m.topic)?.player_key).toBe(key);
  const s = m.json as PlayerStatus;
  expect(s.player_key).toBe(key);
  return s;
}

/** Answers this player's query_posts (the spec's first_page example) and submit_view, except the first `drop` copies of each request_id. */
async function answerQueries(key: string, drop = 0): Promise<{ seen: PlayerRequestMessage[]; stop: () => Promise<void> }> {
  const seen: PlayerRequestMessage[] = [];
  const stop = await subscribePlayerRequest(router, async (m) => {
    seen.push(m.payload);
    const copies = seen.filter((r) => r.request_id === m.payload.request_id).length;
    if (copies <= drop) return;
    const request_id = m.payload.request_id;
    if (m.payload.request_type === 'query_posts') await publishPlayerResponse(internal, m.params, { ...firstPage, request_id });
    if (m.payload.request_type === 'submit_view') await publishPlayerResponse(internal, m.params, { ...messageExamples.SubmitViewResponse.intentional, request_id });
  }, { fixed: { player_key: key } });
  return { seen, stop };
}

describe('connection and heartbeats', () => {
  it('connects over mTLS (MQTT 5), reports at once and then every heartbeatMs with a valid status', async () => {
    const creds = await credentials();
    const from = statuses.mark();
    const p = new SimPlayer({ credentials: creds, heartbeatMs: 300, firmwareVersion: 'sim-test-1' });
    players.push(p);
    await p.connect();
    expect(p.connected).toBe(true);
    const got: Received[] = [];
    for (let i = 0; i < 3; i++) {
      const after = got.length ? statuses.messages.indexOf(got[got.length - 1]) + 1 : from;
      got.push(await statuses.next(statusOf(creds.player_key), { from: after, what: `status ${i + 1}` }));
    }
    const payloads = got.map((m) => expectValidStatus(m, creds.player_key));
    for (const s of payloads) {
      expect(s).toMatchObject({ status: 'online', current_post_id: null, firmware_version: 'sim-test-1' });
      expect(Date.parse(s.timestamp!)).toBeGreaterThan(Date.now() - 60_000);
    }
    // The first one at connect, then one per period (not a burst).
    expect(got[2].at - got[1].at).toBeGreaterThanOrEqual(200);
    expect(Date.parse(payloads[2].timestamp!)).toBeGreaterThan(Date.parse(payloads[0].timestamp!));
    await p.disconnect();
  });

  it('connects with MQTT 3.1.1 and keepalive 60, as the firmware', async () => {
    const logs = await Inbox.open(router, '$SYS/broker/log/N');
    const creds = await credentials();
    const from = statuses.mark();
    const p = await connected({ credentials: creds }, 4);
    expectValidStatus(await statuses.next(statusOf(creds.player_key), { from }), creds.player_key);
    // Mosquitto's connect line: "... as <client id> (p2, c1, k60, u'<key>')": p2 is MQTT 3.1.1.
    const line = await logs.next((m) => typeof m.json === 'string' && m.json.includes(`u'${creds.player_key}'`), { what: 'connect log line' });
    expect(line.json).toMatch(/\(p2, c1, k60, /);
    await logs.close();
    await p.disconnect();
  });

  it('refuses to connect without a certificate the broker trusts', async () => {
    const creds = await credentials();
    const otherCa = await ensureDevPki(join(tmp, 'other-pki'), { caName: 'Not Makapix' });
    const foreign = await issueClientCert(otherCa.dir, creds.player_key);
    const p = new SimPlayer({ credentials: { ...creds, cert_pem: foreign.certPem, key_pem: foreign.keyPem } });
    await expect(p.connect({ connectTimeoutMs: 3000 })).rejects.toThrow();
    expect(p.connected).toBe(false);
  });
});

describe('commands', () => {
  it('show_artwork: the status sent at once reports the post id', async () => {
    const p = await connected();
    const key = p.playerKey!;
    const from = statuses.mark();
    const command = nextEvent(p, 'command');
    await publishPlayerCommand(internal, { player_key: key }, showArtwork);
    expect(await command).toEqual(showArtwork);
    const s = expectValidStatus(await statuses.next(statusOf(key), { from, what: 'status after show_artwork' }), key);
    expect(s).toMatchObject({ status: 'online', current_post_id: showArtwork.payload.post_id });
    expect(p.currentPostId).toBe(showArtwork.payload.post_id);
  });

  it('swap_next / swap_back move within the posts fetched with query_posts', async () => {
    const p = await connected();
    const key = p.playerKey!;
    const responder = await answerQueries(key);
    const reply = await p.fetchPosts();
    expect(reply).toEqual({ ...firstPage, request_id: responder.seen[0].request_id });
    const ids = firstPage.posts.map((post) => post.post_id);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    expect(p.postIds).toEqual(ids);
    // The request it sent: the envelope filled in, a 32-hex request id.
    expect(responder.seen[0]).toMatchObject({ request_type: 'query_posts', player_key: key });
    expect(responder.seen[0].request_id).toMatch(/^[0-9a-f]{32}$/);

    const expectAfter = async (command: typeof messageExamples.SwapNextCommand.swap_next | typeof messageExamples.SwapBackCommand.swap_back, postId: number) => {
      const from = statuses.mark();
      await publishPlayerCommand(internal, { player_key: key }, { ...command, command_id: randomUUID() });
      const s = expectValidStatus(await statuses.next(statusOf(key), { from, what: `status after ${command.command_type}` }), key);
      expect(s.current_post_id).toBe(postId);
    };
    await expectAfter(messageExamples.SwapNextCommand.swap_next, ids[0]);
    await expectAfter(messageExamples.SwapNextCommand.swap_next, ids[1]);
    await expectAfter(messageExamples.SwapBackCommand.swap_back, ids[0]);
    await expectAfter(messageExamples.SwapBackCommand.swap_back, ids[ids.length - 1]);
    await responder.stop();
  });

  it('ignores invalid commands (and sends nothing for them), then still executes a valid one', async () => {
    const p = await connected();
    const key = p.playerKey!;
    const invalid: InboundError[] = [];
    p.on('invalid-command', (e) => invalid.push(e));
    const topic = playerCommand.topic.format({ player_key: key });
    const from = statuses.mark();
    // Deliberately invalid payloads, published raw (the generated publisher would refuse them).
    await internal.publishAsync(topic, '{not json', { qos: 1 });
    await internal.publishAsync(topic, JSON.stringify({ ...showArtwork, command_type: 'self_destruct' }), { qos: 1 });
    await internal.publishAsync(topic, JSON.stringify({ ...showArtwork, payload: { post_id: 'seven' } }), { qos: 1 });
    const valid = { ...showArtwork, command_id: randomUUID(), payload: { ...showArtwork.payload, post_id: 4242 } };
    await publishPlayerCommand(internal, { player_key: key }, valid);
    const s = expectValidStatus(await statuses.next(statusOf(key), { from, what: 'status after the valid command' }), key);
    expect(s.current_post_id).toBe(4242);
    // QoS 1 from one publisher keeps its order: the three invalid ones were handled before.
    expect(invalid.map((e) => e.reason)).toEqual(['json', 'schema', 'schema']);
    expect(statuses.messages.slice(from).filter(statusOf(key))).toHaveLength(1);
    expect(p.connected).toBe(true);
  });
});

describe('requests', () => {
  it('re-publishes a timed-out request with the same request_id and takes the answer to the retry', async () => {
    const p = await connected({ requestTimeoutMs: 300, requestRetries: 3 });
    const responder = await answerQueries(p.playerKey!, 2);
    const attempts: number[] = [];
    p.on('request', (r) => attempts.push(r.attempt));
    const reply = await p.requestQueryPosts({ limit: 2 });
    expect(reply.success).toBe(true);
    expect(attempts).toEqual([0, 1, 2]);
    expect(responder.seen).toHaveLength(3);
    expect(new Set(responder.seen.map((r) => r.request_id)).size).toBe(1);
    expect(reply.request_id).toBe(responder.seen[0].request_id);
    expect(responder.seen[0]).toMatchObject({ request_type: 'query_posts', limit: 2 });
    await responder.stop();
  });

  it('gives up with RequestTimeoutError after the last retry', async () => {
    const p = await connected({ requestTimeoutMs: 200, requestRetries: 1 });
    const responder = await answerQueries(p.playerKey!, 99);
    await expect(p.requestQueryPosts({ request_id: 'sim-timeout-1' })).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(responder.seen.map((r) => r.request_id)).toEqual(['sim-timeout-1', 'sim-timeout-1']);
    expect(p.connected).toBe(true);
    await responder.stop();
  });
});

describe('firmware-like options', () => {
  it('queryOnConnect fetches posts after connecting; submitViews reports an intentional view after show_artwork', async () => {
    const creds = await credentials();
    const responder = await answerQueries(creds.player_key);
    const p = new SimPlayer({ credentials: creds, heartbeatMs: 60_000, queryOnConnect: true, submitViews: true });
    players.push(p);
    const fetched = nextEvent(p, 'response', (r: { request_type: string }) => r.request_type === 'query_posts');
    await p.connect();
    await fetched;
    expect(responder.seen[0]).toMatchObject({ request_type: 'query_posts', channel: 'all', limit: 32 });
    expect(p.postIds).toEqual(firstPage.posts.map((post) => post.post_id));
    const viewed = nextEvent(p, 'response', (r: { request_type: string }) => r.request_type === 'submit_view');
    await publishPlayerCommand(internal, { player_key: creds.player_key }, showArtwork);
    await viewed;
    expect(responder.seen[1]).toMatchObject({ request_type: 'submit_view', post_id: showArtwork.payload.post_id, view_intent: 'intentional' });
    await responder.stop();
  });
});

describe('disconnects', () => {
  it('ungraceful: the broker publishes the last will {player_key, status: offline}', async () => {
    const p = await connected();
    const key = p.playerKey!;
    const from = statuses.mark();
    await p.disconnect({ graceful: false });
    const will = await statuses.next((m) => statusOf(key)(m) && (m.json as PlayerStatus).status === 'offline', { from, what: 'last will' });
    expect(expectValidStatus(will, key)).toEqual({ player_key: key, status: 'offline' });
    expect(p.connected).toBe(false);
  });

  it('with reconnectPeriodMs, comes back after the broker drops it (will first, then a fresh online status)', async () => {
    const creds = await credentials();
    const p = await connected({ credentials: creds });
    await p.disconnect();
    const from = statuses.mark();
    await p.connect({ reconnectPeriodMs: 200 });
    const key = creds.player_key;
    await statuses.next(statusOf(key), { from, what: 'status at connect' });
    const back = nextEvent(p, 'connect', (e: { reconnect: boolean }) => e.reconnect, 8000);
    const afterKick = statuses.mark();
    // Session takeover on the internal listener: the broker closes the player's socket (the mTLS client id is its key).
    await kickClient(broker.urls.internal, broker.serverAccount, key);
    await back;
    const will = await statuses.next((m) => statusOf(key)(m) && (m.json as PlayerStatus).status === 'offline', { from: afterKick, what: 'will' });
    const online = await statuses.next((m) => statusOf(key)(m) && (m.json as PlayerStatus).status === 'online', { from: statuses.messages.indexOf(will) + 1, what: 'online after reconnect' });
    expectValidStatus(online, key);
    expect(p.connected).toBe(true);
    // Its command subscription came back with it.
    const cmdFrom = statuses.mark();
    await publishPlayerCommand(internal, { player_key: key }, { ...showArtwork, command_id: randomUUID(), payload: { ...showArtwork.payload, post_id: 777 } });
    await statuses.next((m) => statusOf(key)(m) && (m.json as PlayerStatus).current_post_id === 777, { from: cmdFrom, what: 'status after a command on the new session' });
    await p.disconnect();
  });

  it('graceful: an offline status, and no will', async () => {
    const p = await connected();
    const key = p.playerKey!;
    const from = statuses.mark();
    await p.disconnect();
    // A marker from the server account after the disconnect: a will would have come before it.
    const marker = { player_key: key, status: 'online', current_post_id: 1 } satisfies PlayerStatus;
    await internal.publishAsync(playerStatus.topic.format({ player_key: key }), JSON.stringify(marker), { qos: 1 });
    await statuses.next((m) => statusOf(key)(m) && (m.json as PlayerStatus).current_post_id === 1, { from, what: 'marker' });
    const mine = statuses.messages.slice(from).filter(statusOf(key)).map((m) => m.json as PlayerStatus);
    expect(mine).toHaveLength(2);
    expect(mine[0]).toMatchObject({ player_key: key, status: 'offline', firmware_version: expect.any(String), timestamp: expect.any(String) });
    expect(mine[1]).toEqual(marker);
  });
});

describe('fleet', () => {
  it('runs 50 players in one process: all connect, heartbeat from one scheduler, and go offline on stop', async () => {
    const creds = await Promise.all(Array.from({ length: 50 }, () => credentials()));
    const keys = new Set(creds.map((c) => c.player_key));
    const from = statuses.mark();
    const fleet = new SimFleet({ count: 50, credentials: creds, player: { heartbeatMs: 700 }, concurrency: 10, staggerMs: 5 });
    const result = await fleet.start();
    expect(result).toEqual({ ready: 50, failed: [] });
    expect(fleet.scheduler.size).toBe(50);
    // Every player: its status at connect and at least one heartbeat after it, each valid.
    const counts = new Map<string, number>();
    await statuses.next((m) => {
      const key = playerStatus.topic.parse(m.topic)?.player_key;
      if (!key || !keys.has(key) || !PlayerStatusValidator.check(m.json) || m.json.player_key !== key) return false;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return counts.size === 50 && [...counts.values()].every((n) => n >= 2);
    }, { from, timeoutMs: 15_000, what: 'two statuses from each of the 50 players' });

    const offFrom = statuses.mark();
    const offline = new Set<string>();
    await fleet.stop();
    expect(fleet.scheduler.size).toBe(0);
    await statuses.next((m) => {
      const s = m.json as PlayerStatus;
      if (keys.has(s.player_key) && s.status === 'offline') offline.add(s.player_key);
      return offline.size === 50;
    }, { from: offFrom, timeoutMs: 10_000, what: 'offline status from each player' });
    expect(fleet.players.every((p) => !p.connected)).toBe(true);
  }, 60_000);
});

describe('CLI', () => {
  it('runs a player from credential files (3.1.1) and disconnects gracefully on SIGINT', async () => {
    const creds = await credentials();
    const dir = mkdtempSync(join(tmp, 'cli-'));
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const bin = fileURLToPath(new URL('../../bin/makapix-player-sim.mjs', import.meta.url));
    const from = statuses.mark();
    const child = spawn(process.execPath, [
      bin, '--cert', file('cert.pem', creds.cert_pem), '--key', file('key.pem', creds.key_pem), '--ca', file('ca.pem', creds.ca_pem),
      '--player-key', creds.player_key, '--broker', broker.urls.mtls, '--mqtt-version', '3.1.1', '--heartbeat-ms', '400',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const key = creds.player_key;
      const first = await statuses.next(statusOf(key), { from, timeoutMs: 20_000, what: 'status from the CLI player' });
      expectValidStatus(first, key);
      await statuses.next(statusOf(key), { from: statuses.messages.indexOf(first) + 1, timeoutMs: 5000, what: 'a heartbeat from the CLI player' });
      expect(stdout).toContain(`Connected: 1 player(s) as player ${key}`);
      child.kill('SIGINT');
      const off = await statuses.next((m) => statusOf(key)(m) && (m.json as PlayerStatus).status === 'offline', { from, what: 'offline status' });
      expect(off.json).toMatchObject({ player_key: key, status: 'offline', timestamp: expect.any(String) });
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    expect(stderr).not.toMatch(/ERROR/);
  }, 40_000);

  it('exits 2 on bad usage, naming the problem', async () => {
    let stderr = '';
    const sink = (write: (t: string) => void) => ({ write: (t: string) => (write(t), true) }) as unknown as NodeJS.WritableStream;
    const code = await runSimCli(['--count', '3', '--cert', 'x.pem'], { stdout: sink(() => undefined), stderr: sink((t) => (stderr += t)) });
    expect(code).toBe(2);
    expect(stderr).toContain('--count above 1 needs --api');
    expect(stderr).toContain('missing --key, --ca, --player-key');
  });
});
