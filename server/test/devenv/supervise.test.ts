// Supervision under `make run` (dev-system.ts + supervise.ts): a killed Mosquitto or PostgreSQL is
// started again on the same ports, with a log line for the loss and one for the restart, and the
// server is ready again (/readyz 200) without anyone doing anything. After stop(), nothing restarts.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { DevSystem } from '../../devenv/dev-system.js';
import { freePorts } from '../../devenv/free-port.js';
import { isAlive, portIsFree } from '../../devenv/process-control.js';
import { until } from '../support/until.js';
import { tempDir } from './helpers.js';

const tmp = tempDir('makapix-supervise-');
const lines: { msg: string; process?: string; pid?: number }[] = [];
const log = pino({ level: 'info' }, new Writable({
  write(chunk, _enc, done) { for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l)); done(); },
}));
let system: DevSystem;
let api: string;

beforeAll(async () => {
  const [http, mqtt, mqtts, mqttWs, pg] = await freePorts(5);
  system = new DevSystem({
    PATH: process.env.PATH, DATA_DIR: `${tmp.path}/data`, HTTP_PORT: String(http), MQTT_PORT: String(mqtt),
    MQTTS_PORT: String(mqtts), MQTT_WS_PORT: String(mqttWs), PG_PORT: String(pg), SCRYPT_N: '1024',
  }, log);
  api = (await system.start()).api;
});

afterAll(async () => {
  await system?.stop();
  tmp.remove();
});

const ready = async () => (await fetch(`${api}/readyz`)).status === 200;
const logged = (msg: RegExp, pid: number) => lines.some((l) => msg.test(l.msg) && l.pid === pid);

describe('make run keeps the broker and the database running', () => {
  it('a killed Mosquitto is restarted on the same ports and the server is ready again', async () => {
    expect(await ready()).toBe(true);
    const old = system.broker!.current;
    process.kill(old.pid, 'SIGKILL');
    const next = await until('a new broker', () => system.broker!.current.pid !== old.pid && system.broker!.current);
    expect(next.ports).toEqual(old.ports);
    await until('/readyz 200 after the broker restart', ready);
    expect(logged(/^mosquitto \(pid \d+\) has exited; restarting it in \d+ ms$/, old.pid)).toBe(true);
    expect(logged(/^mosquitto restarted \(pid \d+\)$/, next.pid)).toBe(true);
    expect(system.broker!.restarts).toBe(1);
  });

  it('a killed PostgreSQL is restarted on the same port, keeps its data, and the server is ready again', async () => {
    const old = system.postgres!.current;
    process.kill(old.pid, 'SIGKILL');
    await until('/readyz 503 while the database is down', async () => !(await ready()));
    const next = await until('a new postmaster', () => system.postgres!.current.pid !== old.pid && system.postgres!.current);
    expect(next.port).toBe(old.port);
    await until('/readyz 200 after the database restart', ready);
    expect(logged(/^postgres \(pid \d+\) has exited; restarting it in \d+ ms$/, old.pid)).toBe(true);
    expect(logged(/^postgres restarted \(pid \d+\)$/, next.pid)).toBe(true);
    // the data survived (the server's migrations are recorded)
    const r = await fetch(`${api}/auth/register`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ handle: 'survivor', email: 'survivor@example.test', password: 'correct horse battery' }),
    });
    expect(r.status).toBe(201);
  });

  it('after stop() everything is gone and nothing restarts', async () => {
    const broker = system.broker!.current;
    const postmaster = system.postgres!.current;
    const restarts = [system.broker!.restarts, system.postgres!.restarts];
    await system.stop(); // supervision is released before anything is stopped
    expect(isAlive(broker.pid)).toBe(false);
    expect(isAlive(postmaster.pid)).toBe(false);
    expect([system.broker!.restarts, system.postgres!.restarts]).toEqual(restarts);
    for (const port of [...Object.values(broker.ports), postmaster.port]) expect(await portIsFree(port)).toBe(true);
  });
});
