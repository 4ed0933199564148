// `make run` as a newcomer meets it: the Makefile's command (`node --import tsx server/devenv/run.ts`)
// in its own process group (as a terminal runs it), as root with the data under a 0700 home directory. It prints "running" only
// when it runs; Ctrl-C (SIGINT to the whole group, as a terminal sends it) stops every process it
// started within 10 s; a port in use or a broker left over on the data dir fails it loudly.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../devenv/free-port.js';
import { cmdlineOf, isAlive, stopPid } from '../../devenv/process-control.js';
import { binaries } from '../../devenv/system-packages.js';
import { waitForPort } from '../../devenv/wait-port.js';
import { until } from '../support/until.js';

const RUNNING = 'Makapix is running';
const home = mkdtempSync(join(tmpdir(), 'makapix-home-')); // 0700: like /root
const dataDir = join(home, 'checkout', '.data');
let ports: { http: number; mqtt: number; mqtts: number; mqttWs: number; pg: number };
let env: NodeJS.ProcessEnv;
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  const [http, mqtt, mqtts, mqttWs, pg] = await freePorts(5);
  ports = { http: http!, mqtt: mqtt!, mqtts: mqtts!, mqttWs: mqttWs!, pg: pg! };
  env = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, HTTP_PORT: String(http), MQTT_PORT: String(mqtt),
    MQTTS_PORT: String(mqtts), MQTT_WS_PORT: String(mqttWs), PG_PORT: String(pg), SCRYPT_N: '1024' };
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  rmSync(home, { recursive: true, force: true });
});

interface Run {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function makeRun(): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/devenv/run.ts'], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } });
  return { child, output: () => out, exited };
}

/** Processes whose process group is `pgid` (what a terminal's Ctrl-C reaches). */
function groupMembers(pgid: number): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return fields[0] !== 'Z' && Number(fields[2]) === pgid;
    } catch {
      return false;
    }
  }).map(Number);
}

const brokerPidFile = () => join(dataDir, 'mosquitto', 'mosquitto.pid');
const postmasterPidFile = () => join(dataDir, 'postgres', 'data', 'postmaster.pid');
const postmasterPid = () => (existsSync(postmasterPidFile()) ? Number(readFileSync(postmasterPidFile(), 'utf8').split('\n')[0]) : 0);

describe('make run', () => {
  it('starts as root under a 0700 home; Ctrl-C stops the server, the broker and the database within 10 s', async () => {
    const run = makeRun();
    await until(`"${RUNNING}"`, () => run.output().includes(RUNNING) || run.child.exitCode !== null, 120_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${run.output()}`); });
    expect(run.output()).toContain(RUNNING);
    expect(run.output()).toContain(`gave the postgres user search permission (x, no listing) on ${home}`);
    const broker = Number(readFileSync(brokerPidFile(), 'utf8'));
    const postmaster = postmasterPid();
    expect(isAlive(broker) && isAlive(postmaster)).toBe(true);
    expect((await fetch(`http://127.0.0.1:${ports.http}/readyz`)).status).toBe(200);

    const t0 = Date.now();
    process.kill(-run.child.pid!, 'SIGINT'); // a terminal's Ctrl-C: the whole foreground group
    const state = () => ({
      exited: run.child.exitCode !== null || run.child.signalCode !== null,
      group: groupMembers(run.child.pid!).map((pid) => `${pid} ${cmdlineOf(pid)}`),
      broker: isAlive(broker),
      postmaster: isAlive(postmaster),
    });
    const stopped = (s: ReturnType<typeof state>) => s.exited && s.group.length === 0 && !s.broker && !s.postmaster;
    await until('every process make run started has exited', () => stopped(state()), 10_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${JSON.stringify(state())}\n${run.output()}`); });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(run.child.exitCode).toBe(0);
    expect(run.output()).toContain('"msg":"stopped"');
    expect(run.output()).not.toContain('killing the broker and the database');
  });

  it('fails loudly when a port is in use (naming the process), and stops what it had started', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(ports.mqtts, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => blocker.close(() => r(undefined))));
    const run = makeRun();
    expect(await run.exited).toBe(1);
    expect(run.output()).toContain(`mosquitto (mtls listener): port ${ports.mqtts} on 127.0.0.1 is already in use by pid ${process.pid}`);
    expect(run.output()).toContain('set MQTT_PORT, MQTTS_PORT or MQTT_WS_PORT to other ports');
    expect(run.output()).not.toContain(RUNNING);
    expect(postmasterPid() === 0 || !isAlive(postmasterPid())).toBe(true); // the database it had started is stopped
    await new Promise((r) => blocker.close(() => r(undefined)));
  });

  it('fails loudly when a broker left over on the data dir (not the one its PID file names) holds the ports', async () => {
    // started by hand with make run's config; the PID file still names the broker of the first run
    const conf = join(dataDir, 'mosquitto', 'mosquitto.conf');
    const leftover = spawn(binaries.mosquitto, ['-c', conf], { stdio: 'ignore', detached: true });
    cleanups.push(() => stopPid(leftover.pid!));
    for (const p of [ports.mqtt, ports.mqtts, ports.mqttWs]) await waitForPort(p);
    const run = makeRun();
    expect(await run.exited).toBe(1);
    expect(run.output()).toMatch(new RegExp(`port ${ports.mqtt} on 127.0.0.1 is already in use by pid ${leftover.pid} \\(${binaries.mosquitto} -c ${conf}\\) \\(left over from an earlier run on this data dir`));
    expect(run.output()).toContain(`kill ${leftover.pid}`);
    expect(run.output()).not.toContain(RUNNING);
    expect(isAlive(leftover.pid!)).toBe(true); // not ours to stop: the message says what to do
  });
});
