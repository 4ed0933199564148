// The dev broker's three listeners and their access rules, with real Mosquitto and mqtt.js.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { MqttClient } from 'mqtt';
import { ensureDevPki, issueClientCert, type DevPki, type IssuedCert } from '../../devenv/pki.js';
import { startBroker, type Broker } from '../../devenv/broker.js';
import { DynsecClient } from '../../src/broker/dynsec-client.js';
import { WEB_USER_BASE_ROLE } from '../../devenv/broker-state.js';
import {
  closed, collect, connectDevice, connectError, connectServer, connectWeb, endAll, publishReason, subscribeReason, tempDir,
} from './helpers.js';

const tmp = tempDir();
let pki: DevPki;
let broker: Broker;
const clients: MqttClient[] = [];
const track = <T extends MqttClient>(c: T): T => { clients.push(c); return c; };

beforeAll(async () => {
  pki = await ensureDevPki(`${tmp.path}/pki`);
  broker = await startBroker({ dir: `${tmp.path}/mosquitto`, pki });
});

afterAll(async () => {
  await endAll(clients);
  await broker?.stop();
  tmp.remove();
});

describe('config', () => {
  it('sets tcp nodelay, per-listener settings and no persistence', () => {
    const conf = readFileSync(broker.files.conf, 'utf8');
    expect(conf).toMatch(/^set_tcp_nodelay true$/m);
    expect(conf).toMatch(/^per_listener_settings true$/m);
    expect(conf).toMatch(/^persistence false$/m);
  });
});

describe('internal listener (server account)', () => {
  it('can publish and subscribe under makapix/', async () => {
    const a = track(await connectServer(broker));
    const b = track(await connectServer(broker));
    const got = collect(b);
    await b.subscribeAsync('makapix/#', { qos: 1 });
    await a.publishAsync('makapix/test/ping', 'hello', { qos: 1 });
    expect(await got.next((m) => m.topic === 'makapix/test/ping')).toEqual({ topic: 'makapix/test/ping', payload: 'hello' });
  });

  it('refuses a wrong password', async () => {
    const err = await connectError(connectServer(broker, { password: 'wrong' }));
    expect([134, 135]).toContain(err.code);
  });
});

describe('mTLS listener (players)', () => {
  let a: IssuedCert;
  let b: IssuedCert;
  let server: MqttClient;
  let devA: MqttClient;
  let devB: MqttClient;

  beforeAll(async () => {
    [a, b] = await Promise.all([issueClientCert(pki.dir, randomUUID()), issueClientCert(pki.dir, randomUUID())]);
    server = track(await connectServer(broker));
    await server.subscribeAsync(['makapix/#', '$SYS/broker/log/N'], { qos: 1 });
  });

  it('accepts a CA-issued certificate; username and client id are its CN', async () => {
    const log = collect(server);
    devA = track(await connectDevice(broker, a, { clientId: 'p3a-something-else' }));
    const line = await log.next((m) => m.topic === '$SYS/broker/log/N' && m.payload.includes('New client connected') && m.payload.includes(a.cn));
    expect(line.payload).toContain(`as ${a.cn} (`);
    expect(line.payload).toContain(`u'${a.cn}'`);
    expect(line.payload).not.toContain('p3a-something-else');
  });

  it('accepts MQTT 3.1.1 players too', async () => {
    const c = await issueClientCert(pki.dir, randomUUID());
    const dev = track(await connectDevice(broker, c, { protocolVersion: 4, clientId: `p3a-${c.cn}` }));
    const got = collect(server);
    await dev.publishAsync(`makapix/player/${c.cn}/status`, '{"v4":true}', { qos: 1 });
    await got.next((m) => m.topic === `makapix/player/${c.cn}/status`);
  });

  it('lets a player publish its own status and requests, and receive its own command and responses', async () => {
    devB = track(await connectDevice(broker, b));
    const fromServer = collect(server);
    expect(await publishReason(devA, `makapix/player/${a.cn}/status`, 's')).toBe(0);
    expect(await publishReason(devA, `makapix/player/${a.cn}/request/r1`, 'r')).toBe(0);
    await fromServer.next((m) => m.topic === `makapix/player/${a.cn}/request/r1`);

    const toA = collect(devA);
    await devA.subscribeAsync([`makapix/player/${a.cn}/command`, `makapix/player/${a.cn}/response/#`], { qos: 1 });
    await server.publishAsync(`makapix/player/${a.cn}/command`, 'c', { qos: 1 });
    await server.publishAsync(`makapix/player/${a.cn}/response/r1`, 'x', { qos: 1 });
    await toA.next((m) => m.topic === `makapix/player/${a.cn}/command`);
    await toA.next((m) => m.topic === `makapix/player/${a.cn}/response/r1`);
  });

  it('refuses a player publishing to another player\'s request topic, or to commands and responses', async () => {
    const fromServer = collect(server);
    expect(await publishReason(devA, `makapix/player/${b.cn}/request/r1`, 'evil')).toBe(135);
    expect(await publishReason(devA, `makapix/player/${a.cn}/command`, 'self-command')).toBe(135);
    expect(await publishReason(devA, `makapix/player/${a.cn}/response/r1`, 'self-response')).toBe(135);
    expect(await publishReason(devA, `makapix/player/${b.cn}/status`, 'evil')).toBe(135);
    // a permitted publish after the refused ones: once it arrives, the refused ones would have too
    await devA.publishAsync(`makapix/player/${a.cn}/status`, 'sentinel', { qos: 1 });
    await fromServer.next((m) => m.payload === 'sentinel');
    expect(fromServer.messages.filter((m) => m.payload !== 'sentinel')).toEqual([]);
  });

  it('does not deliver another player\'s command or responses', async () => {
    const toA = collect(devA);
    const toB = collect(devB);
    await devA.subscribeAsync([`makapix/player/${b.cn}/command`, `makapix/player/${b.cn}/response/#`, '#'], { qos: 1 });
    await devB.subscribeAsync([`makapix/player/${b.cn}/command`, `makapix/player/${b.cn}/response/#`], { qos: 1 });
    await server.publishAsync(`makapix/player/${b.cn}/command`, 'for-b', { qos: 1 });
    await server.publishAsync(`makapix/player/${b.cn}/response/r9`, 'for-b', { qos: 1 });
    await toB.next((m) => m.topic === `makapix/player/${b.cn}/response/r9`); // positive control
    await server.publishAsync(`makapix/player/${a.cn}/command`, 'sentinel', { qos: 1 });
    await toA.next((m) => m.payload === 'sentinel'); // in-order delivery: B's messages would be here by now
    expect(toA.messages.filter((m) => m.topic.includes(b.cn))).toEqual([]);
  });

  it('refuses a certificate from a foreign CA', async () => {
    const foreign = tempDir();
    try {
      await ensureDevPki(foreign.path, { caName: 'Foreign CA' });
      const cert = await issueClientCert(foreign.path, randomUUID());
      const err = await connectError(connectDevice(broker, cert));
      expect(err.code).toBe('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA');
    } finally {
      foreign.remove();
    }
  });

  it('refuses a connection without a client certificate', async () => {
    const err = await connectError(connectDevice(broker, { certPem: '', keyPem: '' } as IssuedCert));
    expect(err.code).toBe('ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED');
  });
});

describe('WebSocket listener (dynamic security)', () => {
  const userId = randomUUID();
  const otherUserId = randomUUID();
  const token = `token-${randomUUID()}`;
  let admin: DynsecClient;
  let server: MqttClient;
  let web: MqttClient;

  beforeAll(async () => {
    admin = new DynsecClient({ url: broker.urls.websocket, ...broker.dynsecAdmin });
    server = track(await connectServer(broker));
    await admin.run([
      { command: 'createRole', rolename: `web-user-${userId}`, acls: [
        { acltype: 'subscribePattern', topic: `makapix/post/new/user/${userId}/#`, allow: true },
        { acltype: 'publishClientReceive', topic: `makapix/post/new/user/${userId}/#`, allow: true },
      ] },
      { command: 'createClient', username: userId, password: token,
        roles: [{ rolename: `web-user-${userId}` }, { rolename: WEB_USER_BASE_ROLE }] },
    ]);
  });

  afterAll(() => admin?.close());

  it('has tightened default ACL access', async () => {
    const [res] = await admin.run([{ command: 'getDefaultACLAccess' }]);
    const acls = (res!.data as { acls: { acltype: string; allow: boolean }[] }).acls;
    const allow = Object.fromEntries(acls.map((a) => [a.acltype, a.allow]));
    expect(allow).toMatchObject({ publishClientSend: false, publishClientReceive: false, subscribe: false });
  });

  it('refuses a wrong token', async () => {
    const err = await connectError(connectWeb(broker, userId, 'wrong'));
    expect([134, 135]).toContain(err.code);
  });

  it('lets the web user subscribe to its own and the category topics and receive server messages', async () => {
    web = track(await connectWeb(broker, userId, token));
    expect(await subscribeReason(web, `makapix/post/new/user/${userId}/#`)).toBe(1);
    expect(await subscribeReason(web, 'makapix/post/new/category/#')).toBe(1);
    const got = collect(web);
    await server.publishAsync(`makapix/post/new/user/${userId}/42`, '{"post_id":42}', { qos: 1 });
    await server.publishAsync('makapix/post/new/category/frontpage/42', '{"post_id":42}', { qos: 1 });
    expect(await got.next((m) => m.topic === `makapix/post/new/user/${userId}/42`)).toMatchObject({ payload: '{"post_id":42}' });
    await got.next((m) => m.topic === 'makapix/post/new/category/frontpage/42');
  });

  it('refuses another user\'s topic, wildcards and player topics (SUBACK 135)', async () => {
    expect(await subscribeReason(web, `makapix/post/new/user/${otherUserId}/#`)).toBe(135);
    expect(await subscribeReason(web, '#')).toBe(135);
    expect(await subscribeReason(web, 'makapix/player/+/command')).toBe(135);
  });

  it('refuses publishing (PUBACK 135)', async () => {
    expect(await publishReason(web, `makapix/post/new/user/${userId}/1`, 'x')).toBe(135);
    expect(await publishReason(web, 'makapix/post/new/category/frontpage/1', 'x')).toBe(135);
  });

  it('ends the live session when the client is deleted', async () => {
    const gone = closed(web);
    await admin.run([{ command: 'deleteClient', username: userId }]);
    await gone;
    const err = await connectError(connectWeb(broker, userId, token));
    expect([134, 135]).toContain(err.code);
  });
});
