// The player suite with the server's broker account against the reference simulator (SimPlayer),
// a flawless fake player, and broken fake players on a real Mosquitto. The player is started once
// the suite watches it, as a device maker starts the device after the suite.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevPki, issueClientCert, type DevPki } from '../../server/devenv/pki.js';
import { startBroker, type Broker } from '../../server/devenv/broker.js';
import { readFileSync } from 'node:fs';
import { loadCaseFiles } from '../src/cases/load.js';
import { runPlayerSuite, type PlayerRunOptions } from '../src/player/suite.js';
import { formatHuman } from '../src/report/human.js';
import type { SuiteResult } from '../src/run/execute.js';
import { rejectAfter } from '../src/run/wait.js';
import { SimPlayer } from '../src/sim/index.js';
import { startFakePlayer, type FakePlayerCredentials } from './fakes/players/fake-player.js';
import * as broken from './fakes/players/index.js';

let tmp: string;
let pki: DevPki;
let broker: Broker;
const files = loadCaseFiles();

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'conformance-players-'));
  pki = await ensureDevPki(join(tmp, 'pki'));
  broker = await startBroker({ dir: join(tmp, 'mosquitto'), pki });
});

afterAll(async () => {
  await broker?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function credentials(): Promise<FakePlayerCredentials> {
  const player_key = randomUUID();
  const c = await issueClientCert(pki.dir, player_key);
  return { player_key, ca_pem: readFileSync(pki.caCert, 'utf8'), cert_pem: c.certPem, key_pem: c.keyPem };
}

function options(playerKey: string, extra: Partial<PlayerRunOptions> = {}): PlayerRunOptions {
  return {
    brokerUrl: broker.urls.internal, username: broker.serverAccount.username, password: broker.serverAccount.password, playerKey,
    timeoutMs: 3000, heartbeatMs: 1000, toleranceMs: 1000, ...extra,
  };
}

/**
 * Runs the suite; `start` launches the player once the suite watches it; returns the result and
 * stops the player. Each stage is bounded and named, so a hang fails with the stage and the
 * suite's MQTT log instead of a bare test timeout.
 */
async function run(playerKey: string, start: () => Promise<{ stop(): Promise<void> }>, run: string[] = []): Promise<SuiteResult> {
  const log: string[] = [];
  const t0 = Date.now();
  const stage = <T>(name: string, ms: number, p: Promise<T>): Promise<T> =>
    rejectAfter(p, ms, () => `${name} did not finish within ${ms} ms; suite log:\n${log.join('\n')}`);
  let started: Promise<{ stop(): Promise<void> }> | undefined;
  const result = await stage('runPlayerSuite', 20_000, runPlayerSuite({ ...options(playerKey), log: (l) => log.push(`${Date.now() - t0} ms ${l}`) }, files, { run }, () => {
    started = start();
  }));
  if (!started) throw new Error(`the suite ended before it started the player; suite log:\n${log.join('\n')}`);
  const player = await stage('starting the player', 5_000, started);
  await stage('stopping the player', 5_000, player.stop());
  return result;
}

describe('player suite', () => {
  it('passes every case against the reference simulator', async () => {
    const creds = await credentials();
    const r = await run(creds.player_key, async () => {
      const sim = new SimPlayer({ credentials: { ...creds, broker: { host: '127.0.0.1', port: broker.ports.mtls } }, heartbeatMs: 500, queryOnConnect: true, submitViews: true });
      await sim.connect({ brokerUrl: broker.urls.mtls });
      return { stop: () => sim.disconnect({ graceful: false }) };
    });
    expect(r.results.filter((x) => x.status !== 'passed').map((x) => x.name), formatHuman(r)).toEqual([]);
    expect(r.results.map((x) => x.name)).toEqual(expect.arrayContaining(['player/status/heartbeat', 'player/command/show_artwork', 'player/request/subscribed_before_request', 'player/status/last_will']));
    expect(r.features).toContain('broker_reports_no_subscribers');
  });

  it('passes every case against the flawless fake player', async () => {
    const creds = await credentials();
    const r = await run(creds.player_key, () => startFakePlayer({ brokerUrl: broker.urls.mtls, creds, heartbeatMs: 500 }));
    expect(r.results.filter((x) => x.status !== 'passed').map((x) => x.name), formatHuman(r)).toEqual([]);
  });

  for (const [id, fake] of Object.entries(broken)) {
    it(`catches the ${fake.family} player (${id}) with ${fake.caughtBy.join(', ')}`, async () => {
      const creds = await credentials();
      const r = await run(creds.player_key, () => startFakePlayer({ brokerUrl: broker.urls.mtls, creds, heartbeatMs: 500, flaws: fake.flaws }), fake.caughtBy);
      const human = formatHuman(r);
      expect(r.results.map((x) => [x.name, x.status]), human).toEqual(fake.caughtBy.map((c) => [c, 'failed']));
      expect(r.results[0].mismatches.map((m) => m.pointer), human).toContain(fake.pointer);
      expect(human).toContain(`FAILED: ${fake.caughtBy[0]}`);
    });
  }
});
