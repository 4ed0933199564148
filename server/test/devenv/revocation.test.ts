// Revocation on Mosquitto 2.0.11: what each mechanism does on its own, and revokeAndKick
// (CRL + SIGHUP + session takeover) ending a deleted player's access. See server/devenv/README.md.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { ensureDevPki, issueClientCert, type DevPki } from '../../devenv/pki.js';
import { revokeSerial } from '../../devenv/crl.js';
import { startBroker, type Broker } from '../../devenv/broker.js';
import { denyPlayer, kickClient, revokeAndKick } from '../../devenv/revoke.js';
import { closed, collect, connectDevice, connectError, connectServer, endAll, publishReason, tempDir } from './helpers.js';

const REVOKED = 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED';
const tmp = tempDir();
let pki: DevPki;
let broker: Broker;
let server: MqttClient;
const clients: MqttClient[] = [];
const track = <T extends MqttClient>(c: T): T => { clients.push(c); return c; };
const status = (key: string) => `makapix/player/${key}/status`;
const offline = (key: string) => ({ will: { topic: status(key), payload: Buffer.from('{"status":"offline"}'), qos: 1 as const, retain: false } });

beforeAll(async () => {
  pki = await ensureDevPki(`${tmp.path}/pki`);
  broker = await startBroker({ dir: `${tmp.path}/mosquitto`, pki });
  server = track(await connectServer(broker));
  await server.subscribeAsync('makapix/player/#', { qos: 1 });
});

afterAll(async () => {
  await endAll(clients);
  await broker?.stop();
  tmp.remove();
});

describe('the mechanisms one by one', () => {
  it('(a) the CRL is only read at start and on SIGHUP; after the reload a revoked certificate is refused', async () => {
    const cert = await issueClientCert(pki.dir, randomUUID());
    await revokeSerial(pki.dir, cert.serial);
    const before = track(await connectDevice(broker, cert)); // CRL on disk changed, broker not told yet
    await before.endAsync();
    await broker.reload();
    expect((await connectError(connectDevice(broker, cert))).code).toBe(REVOKED);
  });

  it('(a) further revocations keep working (the reload adds CRLs; earlier ones stay revoked)', async () => {
    const [c1, c2] = await Promise.all([issueClientCert(pki.dir, randomUUID()), issueClientCert(pki.dir, randomUUID())]);
    await revokeSerial(pki.dir, c1.serial);
    await broker.reload();
    await revokeSerial(pki.dir, c2.serial);
    await broker.reload();
    expect((await connectError(connectDevice(broker, c1))).code).toBe(REVOKED);
    expect((await connectError(connectDevice(broker, c2))).code).toBe(REVOKED);
    const fresh = await issueClientCert(pki.dir, randomUUID());
    await track(await connectDevice(broker, fresh)).endAsync();
  });

  it('(a) the reload does not end a live session of a revoked certificate', async () => {
    const cert = await issueClientCert(pki.dir, randomUUID());
    const dev = track(await connectDevice(broker, cert));
    await revokeSerial(pki.dir, cert.serial);
    await broker.reload();
    expect(dev.connected).toBe(true);
    expect(await publishReason(dev, status(cert.cn), 'still here')).toBe(0);
  });

  it('(b) a takeover from the internal listener with client id = player_key ends the mTLS session (will published)', async () => {
    const cert = await issueClientCert(pki.dir, randomUUID());
    const fromPlayers = collect(server);
    for (const protocolVersion of [5, 4] as const) {
      const dev = track(await connectDevice(broker, cert, { protocolVersion, clientId: `p3a-${cert.cn}`, ...offline(cert.cn) }));
      const gone = closed(dev, 1_000);
      await kickClient(broker.urls.internal, broker.serverAccount, cert.cn);
      await gone;
      await fromPlayers.next((m) => m.topic === status(cert.cn) && m.payload.includes('offline'));
      fromPlayers.messages.length = 0;
    }
    // not revoked: it may come back
    await track(await connectDevice(broker, cert)).endAsync();
  });

  it('(c) a `topic deny #` user section + SIGHUP mutes a live player but keeps it connected', async () => {
    const cert = await issueClientCert(pki.dir, randomUUID());
    const dev = track(await connectDevice(broker, cert));
    const toDev = collect(dev);
    await dev.subscribeAsync(`makapix/player/${cert.cn}/command`, { qos: 1 });
    await denyPlayer(broker, cert.cn);
    expect(dev.connected).toBe(true);
    expect(await publishReason(dev, status(cert.cn), 'muted')).toBe(135);
    await server.publishAsync(`makapix/player/${cert.cn}/command`, 'not delivered', { qos: 1 });
    // a permitted player's message, published after: once it is delivered, the other would have been
    const other = await issueClientCert(pki.dir, randomUUID());
    const od = track(await connectDevice(broker, other));
    const toOther = collect(od);
    await od.subscribeAsync(`makapix/player/${other.cn}/command`, { qos: 1 });
    await server.publishAsync(`makapix/player/${other.cn}/command`, 'delivered', { qos: 1 });
    await toOther.next((m) => m.payload === 'delivered');
    expect(toDev.messages).toEqual([]);
    // and it is not kept out: it reconnects (muted)
    await dev.endAsync();
    await track(await connectDevice(broker, cert)).endAsync();
  });
});

describe('revokeAndKick', () => {
  it('ends the live session, refuses the certificate afterwards, and leaves other players alone', async () => {
    const [victim, bystander] = await Promise.all([issueClientCert(pki.dir, randomUUID()), issueClientCert(pki.dir, randomUUID())]);
    const fromPlayers = collect(server);
    const v = track(await connectDevice(broker, victim, { protocolVersion: 4, clientId: `p3a-${victim.cn}`, ...offline(victim.cn) }));
    const b = track(await connectDevice(broker, bystander));
    const gone = closed(v, 2_000);

    await revokeAndKick({ broker, caDir: pki.dir, playerKey: victim.cn, serial: victim.serial });

    await gone;
    expect(v.connected).toBe(false);
    await fromPlayers.next((m) => m.topic === status(victim.cn) && m.payload.includes('offline'));
    expect((await connectError(connectDevice(broker, victim))).code).toBe(REVOKED);
    expect(b.connected).toBe(true);
    expect(await publishReason(b, status(bystander.cn), 'fine')).toBe(0);
  });

  it('survives a broker restart (the CRL is read at start)', async () => {
    const victim = await issueClientCert(pki.dir, randomUUID());
    await revokeAndKick({ broker, caDir: pki.dir, playerKey: victim.cn, serial: victim.serial });
    await endAll(clients.splice(0));
    await broker.stop();
    broker = await startBroker({ dir: broker.dir, pki });
    server = track(await connectServer(broker));
    expect((await connectError(connectDevice(broker, victim))).code).toBe(REVOKED);
    const ok = await issueClientCert(pki.dir, randomUUID());
    await track(await connectDevice(broker, ok)).endAsync();
  });
});
