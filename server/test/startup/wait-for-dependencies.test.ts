// Startup against real components that are not there yet: the server waits for a PostgreSQL and a
// Mosquitto started on its configured ports a little later, gives up with a message naming what
// is unreachable once STARTUP_WAIT_SECONDS is spent, and fails at once on wrong credentials.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, freePorts, serverEnv, startBroker, startPostgres, startServices, type Services } from '../../devenv/index.js';
import { loadConfig } from '../../src/config.js';
import { startServer, type ServerHandle } from '../../src/main.js';
import { StartupError } from '../../src/startup/index.js';

let dataDir: string;
let services: Services;
let env: Record<string, string>;
/** What this file started after stopping the originals (stopped in afterAll). */
const restarted: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mkp-startup-'));
  services = await startServices({ dataDir, forTests: true });
  env = {
    ...serverEnv(services),
    MAKAPIX_ENV: 'development',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    DATABASE_POOL_MAX: '4',
    JWT_SECRET: 'test-secret-test-secret-test-secret-0123456789',
    SCRYPT_N: '1024',
  };
});

afterAll(async () => {
  for (const s of restarted.reverse()) await s.stop().catch(() => {});
  await services?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

interface LogLine { level: number; msg: string; [k: string]: unknown }

function capturingLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { log, lines };
}

const warnings = (lines: LogLine[], dependency: string) => lines.filter((l) => l.level === 40 && l.dependency === dependency);

/** Waits until the starting server has logged `n` failed attempts at `dependency` (so it is retrying). */
async function untilRetried(lines: LogLine[], dependency: string, n: number, starting: Promise<unknown>, timeoutMs = 20_000): Promise<void> {
  let settled = false;
  starting.then(() => (settled = true), () => (settled = true));
  const deadline = Date.now() + timeoutMs;
  while (warnings(lines, dependency).length < n) {
    if (settled) throw new Error(`startup settled before ${n} failed attempts at ${dependency}`);
    if (Date.now() > deadline) throw new Error(`fewer than ${n} failed attempts at ${dependency} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

async function expectReady(server: ServerHandle): Promise<void> {
  const r = await fetch(`${server.url}/readyz`);
  expect(r.status).toBe(200);
  expect(await r.json()).toEqual({ status: 'ok', database: true, broker: true, revocations: true });
}

describe.skipIf(process.env.DATABASE_URL)('startup waits for its dependencies', () => {
  it('waits for a PostgreSQL that starts on the configured port a little later', async () => {
    await services.database.stop();
    const port = await freePort();
    const { log, lines } = capturingLogger();
    const url = `postgres://postgres@127.0.0.1:${port}/makapix`;
    const starting = startServer(loadConfig({ ...env, DATABASE_URL: url, STARTUP_WAIT_SECONDS: '30' }), { log });
    starting.catch(() => {}); // awaited below
    await untilRetried(lines, 'PostgreSQL', 2, starting);
    const pg = await startPostgres({ dir: join(dataDir, 'postgres'), port, forTests: true });
    restarted.push(pg);
    env.DATABASE_URL = pg.url;
    const server = await starting;
    try {
      await expectReady(server);
      const waited = warnings(lines, 'PostgreSQL');
      expect(waited.length).toBeGreaterThanOrEqual(2);
      expect(waited[0]).toMatchObject({ url, attempt: 1, retryInMs: 250 });
      expect(waited[0]!.msg).toContain(`PostgreSQL at ${url} is unreachable (connect ECONNREFUSED 127.0.0.1:${port}); attempt 1, retrying in 0.25 s`);
    } finally {
      await server.stop();
    }
  });

  it('waits for a broker that starts on the configured ports a little later', async () => {
    await services.broker.stop();
    const [internal, mtls, websocket] = await freePorts(3);
    const brokerUrl = `mqtt://127.0.0.1:${internal}`;
    const { log, lines } = capturingLogger();
    const starting = startServer(loadConfig({
      ...env, STARTUP_WAIT_SECONDS: '30',
      MQTT_INTERNAL_URL: brokerUrl, MQTT_MTLS_URL: `mqtts://127.0.0.1:${mtls}`, MQTT_WEBSOCKET_URL: `ws://127.0.0.1:${websocket}`,
    }), { log });
    starting.catch(() => {});
    await untilRetried(lines, 'MQTT broker', 2, starting);
    const broker = await startBroker({ dir: join(dataDir, 'mosquitto'), pki: services.pki, ports: { internal: internal!, mtls: mtls!, websocket: websocket! } });
    restarted.push(broker);
    Object.assign(env, { MQTT_INTERNAL_URL: broker.urls.internal, MQTT_MTLS_URL: broker.urls.mtls, MQTT_WEBSOCKET_URL: broker.urls.websocket });
    const server = await starting;
    try {
      await expectReady(server);
      const waited = warnings(lines, 'MQTT broker');
      expect(waited.length).toBeGreaterThanOrEqual(2);
      expect(waited[0]!.msg).toContain(`MQTT broker at ${brokerUrl} is unreachable (connect ECONNREFUSED 127.0.0.1:${internal}); attempt 1, retrying in 0.25 s`);
      expect(warnings(lines, 'PostgreSQL')).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it('gives up once STARTUP_WAIT_SECONDS is spent, naming what is unreachable', async () => {
    const [pgPort, mqttPort] = await freePorts(2);
    const { log, lines } = capturingLogger();
    const url = `postgres://postgres:not-logged@127.0.0.1:${pgPort}/makapix`;
    let started = Date.now();
    const err = await startServer(loadConfig({ ...env, DATABASE_URL: url, STARTUP_WAIT_SECONDS: '1' }), { log }).catch((e: unknown) => e);
    const elapsed = Date.now() - started;
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toMatch(new RegExp(
      `^PostgreSQL at postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${pgPort}/makapix is unreachable \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${pgPort}\\); ` +
        'gave up after \\d+ attempts in [\\d.]+ s \\(STARTUP_WAIT_SECONDS=1\\)$',
    ));
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(10_000); // gave up: far below the 30 s test timeout
    expect(warnings(lines, 'PostgreSQL').length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(lines)).not.toContain('not-logged');

    // STARTUP_WAIT_SECONDS=0: one attempt, no waiting; the broker is named when it is the one missing
    started = Date.now();
    const broker = await startServer(loadConfig({ ...env, MQTT_INTERNAL_URL: `mqtt://127.0.0.1:${mqttPort}`, STARTUP_WAIT_SECONDS: '0' }), { log })
      .catch((e: unknown) => e);
    expect((broker as Error).message).toBe(
      `MQTT broker at mqtt://127.0.0.1:${mqttPort} is unreachable (connect ECONNREFUSED 127.0.0.1:${mqttPort}); STARTUP_WAIT_SECONDS=0, so startup does not wait`,
    );
    expect(Date.now() - started).toBeLessThan(10_000); // no waiting (and no warnings below)
    expect(warnings(lines, 'MQTT broker')).toEqual([]);
  });

  it('fails at once when PostgreSQL rejects the password', async () => {
    // a role that must log in with a password (the test cluster trusts everyone else)
    const admin = postgres(env.DATABASE_URL!, { max: 1, onnotice: () => {} });
    try {
      await admin`drop role if exists mkp_pw_test`;
      await admin`create role mkp_pw_test login password 'right-password'`;
      const hba = join(dataDir, 'postgres', 'data', 'pg_hba.conf');
      writeFileSync(hba, `host all mkp_pw_test 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, 'utf8')}`);
      await admin`select pg_reload_conf()`;
    } finally {
      await admin.end();
    }
    const withPassword = (pw: string) => env.DATABASE_URL!.replace('postgres://postgres@', `postgres://mkp_pw_test:${pw}@`);
    const right = postgres(withPassword('right-password'), { max: 1 });
    try {
      expect(await right`select current_user as u`).toEqual([{ u: 'mkp_pw_test' }]); // the setup works
    } finally {
      await right.end();
    }

    const { log, lines } = capturingLogger();
    const started = Date.now();
    const err = await startServer(loadConfig({ ...env, DATABASE_URL: withPassword('wrong-password'), STARTUP_WAIT_SECONDS: '30' }), { log })
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(10_000); // not the 30 s budget (and no warnings below)
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toBe(
      `PostgreSQL at ${withPassword('***')} rejected the credentials ` +
        '(28P01 password authentication failed for user "mkp_pw_test"); check the user name and password in DATABASE_URL. ' +
        'Not retrying: wrong credentials do not fix themselves.',
    );
    expect(warnings(lines, 'PostgreSQL')).toEqual([]);
  });

  it('fails at once when the broker rejects the password', async () => {
    const { log, lines } = capturingLogger();
    const started = Date.now();
    const err = await startServer(loadConfig({ ...env, MQTT_INTERNAL_PASSWORD: 'wrong-password', STARTUP_WAIT_SECONDS: '30' }), { log })
      .catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(10_000); // not the 30 s budget (and no warnings below)
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toMatch(new RegExp(
      `^MQTT broker at ${env.MQTT_INTERNAL_URL} rejected the credentials \\(13[45] Connection refused: (Bad User Name or Password|Not authorized)\\); ` +
        'check MQTT_INTERNAL_USERNAME and MQTT_INTERNAL_PASSWORD\\. Not retrying',
    ));
    expect(warnings(lines, 'MQTT broker')).toEqual([]);
  });
});
