// Deleting a player while the broker cannot be made to reload its CRL (issue: "a deleted player can
// still connect"): the broker was restarted behind the server's back, so its PID file is stale. The
// API must not answer success; the live session is ended anyway; the server keeps trying in the
// background (a dead or unrelated PID is never signalled), /readyz answers 503 meanwhile; once the
// broker enforces the revocation (PID file fixed, or the broker restarted again and read the CRL),
// the player is kicked again and refused for good, and /readyz is 200.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { playerStatusTopic } from '@makapix/contract/asyncapi/channels';
import { binaries } from '../../devenv/system-packages.js';
import { isAlive, stopPid } from '../../devenv/process-control.js';
import { waitForPort } from '../../devenv/wait-port.js';
import { connectInternal, connectPlayer, provisionPlayer, registerUser, startStack, uniqueHandle, type Stack, type TestUser } from '../support/stack.js';
import { until } from '../support/until.js';
import { closed, collect, connectError, endAll, expectError } from './helpers.js';

/** deletePlayer's answer while the broker has not confirmed the revocation. */
const UNCONFIRMED = { status: 503, code: 'internal_error' } as const;

let stack: Stack;
let owner: TestUser;
let manual: ChildProcess | undefined;
let sleeper: ChildProcess | undefined;
const clients: MqttClient[] = [];
const track = <T extends MqttClient>(c: T): T => { clients.push(c); return c; };

beforeAll(async () => {
  stack = await startStack();
  owner = await registerUser(stack.api, uniqueHandle('owner'));
});

afterAll(async () => {
  await endAll(clients);
  sleeper?.kill('SIGKILL');
  if (manual?.pid) await stopPid(manual.pid);
  await stack?.stop();
});

const status = () => stack.server.ctx.brokerAdmin.revocationStatus();
const ready = async () => (await stack.api.getReadiness()).status === 200;

/** Restart the broker as someone else would: same config, its PID file left as it was. */
async function restartBehindTheServersBack(): Promise<ChildProcess> {
  const b = stack.services.broker;
  if (manual?.pid) await stopPid(manual.pid);
  else await b.stop();
  const child = spawn(binaries.mosquitto, ['-c', b.files.conf], { stdio: 'ignore', detached: true });
  for (const port of [b.ports.internal, b.ports.mtls, b.ports.websocket]) await waitForPort(port);
  return child;
}

describe('delete while the broker PID file is stale', () => {
  it('answers an error, not success; kicks; retries without signalling strangers; confirms once the PID file is right', async () => {
    const victim = await provisionPlayer(stack.api, owner, 'Doomed');
    const pidFile = stack.config.broker.pidFile!;
    const stalePid = readFileSync(pidFile, 'utf8').trim();
    manual = await restartBehindTheServersBack();
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(stalePid);
    expect(isAlive(Number(stalePid))).toBe(false);
    await until('the server is connected to the restarted broker', ready);

    const statusTopic = playerStatusTopic.format({ player_key: victim.player_key });
    const will = { topic: statusTopic, payload: Buffer.from(JSON.stringify({ player_key: victim.player_key, status: 'offline' })), qos: 1 as const, retain: false };
    const listener = track(await connectInternal(stack));
    const seen = collect(listener);
    await listener.subscribeAsync(statusTopic, { qos: 1 });
    const v = track(await connectPlayer(stack, victim, { will }));
    const gone = closed(v);

    const r = await stack.api.deletePlayer({ params: { sqid: owner.sqid, player_id: victim.id } }, { token: owner.token });
    expectError(r, UNCONFIRMED.status, UNCONFIRMED.code, /broker has not confirmed yet that it refuses the certificate/);
    await gone; // the live session is ended anyway
    await seen.next((m) => m.payload.includes('offline'));
    expect(status()).toMatchObject({ inForce: false, pending: 1, problem: expect.stringMatching(new RegExp(`stale: no process ${stalePid}`)) });
    const readiness = await stack.api.getReadiness();
    expect({ status: readiness.status, body: readiness.body }).toEqual({ status: 503, body: { status: 'unavailable', database: true, broker: true, revocations: false } });

    // The broker was not told: the certificate still gets in. That is why the answer was not a success.
    const back = track(await connectPlayer(stack, victim));
    const backGone = closed(back, 60_000);

    // A PID reused by an unrelated process: never signalled (sleep would die of SIGHUP).
    sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    writeFileSync(pidFile, `${sleeper.pid}\n`);
    await until('a retry has looked at the unrelated process', () => /is not mosquitto \(sleep 600\)/.test(status().problem ?? ''));
    expect(isAlive(sleeper.pid!)).toBe(true);
    expect(await ready()).toBe(false);

    // The PID file names the broker again (as make run's supervisor writes it after a restart).
    writeFileSync(pidFile, `${manual.pid}\n`);
    await until('the revocation is confirmed and /readyz is 200', ready, 60_000);
    expect(status()).toEqual({ inForce: true, pending: 0, since: null, problem: null });
    await backGone; // kicked again
    const err = await connectError(connectPlayer(stack, victim));
    expect(String(err.code ?? err.message)).toMatch(/REVOKED|revoked/);
  });

  it('a broker restarted after the CRL was written enforces it: confirmed by the retry without any signal', async () => {
    const victim = await provisionPlayer(stack.api, owner, 'Doomed too');
    writeFileSync(stack.config.broker.pidFile!, '999999999\n'); // nonsense: nothing can be signalled
    const r = await stack.api.deletePlayer({ params: { sqid: owner.sqid, player_id: victim.id } }, { token: owner.token });
    expectError(r, UNCONFIRMED.status, UNCONFIRMED.code);
    expect(status().inForce).toBe(false);
    manual = await restartBehindTheServersBack(); // reads the CRL the server wrote
    await until('the revocation is confirmed and /readyz is 200', ready, 60_000);
    expect(readFileSync(stack.config.broker.pidFile!, 'utf8').trim()).toBe('999999999');
    const err = await connectError(connectPlayer(stack, victim));
    expect(String(err.code ?? err.message)).toMatch(/REVOKED|revoked/);
  });
});
