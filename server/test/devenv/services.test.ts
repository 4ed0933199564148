// startServices: broker + database + PKI together; a restart keeps passwords, dynsec state and data.
import { afterAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import postgres from 'postgres';
import { startServices, type Services } from '../../devenv/services.js';
import { issueClientCert } from '../../devenv/pki.js';
import { DynsecClient } from '../../src/broker/dynsec-client.js';
import { WEB_USER_BASE_ROLE } from '../../devenv/broker-state.js';
import { isAlive } from '../../devenv/process-control.js';
import { collect, connectDevice, connectServer, connectWeb, endAll } from './helpers.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dataDir = mkdtempSync(join(tmpdir(), 'makapix-services-')); // 0700: startServices must cope
let services: Services | undefined;

afterAll(async () => {
  await services?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('startServices', () => {
  const webUser = randomUUID();
  let first: Services;

  it('starts everything and returns URLs, CA paths and accounts', async () => {
    const t0 = performance.now();
    first = services = await startServices({ dataDir, forTests: true, env: {} });
    console.log(`startServices (fresh dir): ${Math.round(performance.now() - t0)} ms`);
    expect(first.urls.mqttInternal).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    expect(first.urls.mqttMtls).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    expect(first.urls.mqttWebsocket).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(first.urls.database).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/makapix$/);
    expect(first.caCert).toBe(`${dataDir}/pki/ca.crt`);
    expect(statSync(first.caKey).isFile()).toBe(true);
    expect(first.serverAccount.username).toBe('makapix-server');
    expect(first.dynsecAdmin.password.length).toBeGreaterThan(20);

    // every part answers
    const sql = postgres(first.urls.database, { max: 1 });
    await sql`create table t (v int)`;
    await sql`insert into t values (7)`;
    await sql.end();
    const device = await issueClientCert(first.pki.dir, randomUUID());
    const srv = await connectServer(first.broker);
    const dev = await connectDevice(first.broker, device);
    const got = collect(srv);
    await srv.subscribeAsync('makapix/player/+/status', { qos: 1 });
    await dev.publishAsync(`makapix/player/${device.cn}/status`, 'up', { qos: 1 });
    await got.next((m) => m.payload === 'up');
    const admin = new DynsecClient({ url: first.urls.mqttWebsocket, ...first.dynsecAdmin });
    await admin.run([{ command: 'createClient', username: webUser, password: 'tok', roles: [{ rolename: WEB_USER_BASE_ROLE }] }]);
    await Promise.all([endAll([srv, dev]), admin.close()]);
  });

  it('stops by PID and restarts with the same dir keeping passwords, certificates, dynsec clients and data', async () => {
    await first.stop();
    expect(isAlive(first.broker.pid)).toBe(false);
    expect(isAlive(first.database.postgres!.pid)).toBe(false);
    services = undefined;
    const t0 = performance.now();
    const again = services = await startServices({ dataDir, forTests: true, env: {} });
    console.log(`startServices (existing dir): ${Math.round(performance.now() - t0)} ms`);
    expect(again.serverAccount).toEqual(first.serverAccount);
    expect(again.dynsecAdmin).toEqual(first.dynsecAdmin);
    const srv = await connectServer(again.broker); // old password still valid
    const web = await connectWeb(again.broker, webUser, 'tok'); // dynsec client survived
    const device = await issueClientCert(again.pki.dir, randomUUID()); // same CA still trusted
    const dev = await connectDevice(again.broker, device);
    await endAll([srv, web, dev]);
    const sql = postgres(again.urls.database, { max: 1 });
    expect([...(await sql`select v from t`)]).toEqual([{ v: 7 }]);
    await sql.end();
  });

  it('uses DATABASE_URL instead of starting postgres', async () => {
    const url = services!.urls.database; // an existing database stands in for an external one
    const dir2 = mkdtempSync(join(tmpdir(), 'makapix-services-ext-'));
    const ext = await startServices({ dataDir: dir2, forTests: true, env: { DATABASE_URL: url } });
    try {
      expect(ext.database.external).toBe(true);
      expect(ext.urls.database).toBe(url);
      expect(() => statSync(`${dir2}/postgres`)).toThrow();
    } finally {
      await ext.stop();
      rmSync(dir2, { recursive: true, force: true });
    }
  });
});
