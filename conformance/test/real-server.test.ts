// The suite against our real server (REST, MQTT workers, Mosquitto, PostgreSQL via startStack) and
// the simulator registered on it: what `make conformance` runs, with the known-failing lists CI
// uses. These tests depend on the server's REST and MQTT handlers.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionPlayer, registerModerator, registerUser, startStack, TEST_PASSWORD, type Stack } from '../../server/test/support/stack.js';
import { main } from '../src/cli/main.js';
import { loadCaseFiles } from '../src/cases/load.js';
import { runPlayerSuite } from '../src/player/suite.js';
import { formatHuman } from '../src/report/human.js';
import type { SuiteResult } from '../src/run/execute.js';
import { readKnownFailing } from '../src/run/known-failing.js';
import { SimPlayer } from '../src/sim/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let moderatorEmail: string;
let stack: Stack;
let tmp: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'conformance-real-'));
  stack = await startStack();
  moderatorEmail = (await registerModerator(stack, `mod${randomBytes(4).toString('hex')}`)).email;
});

afterAll(async () => {
  await stack?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function runBin(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'conformance/bin/makapix-conformance.mjs'), ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('conformance of our server and simulator', () => {
  it('makapix-conformance server --api passes every case against our server (empty known-failing list)', async () => {
    const json = join(tmp, 'server.json');
    const junit = join(tmp, 'server.xml');
    const r = await runBin([
      'server', '--api', stack.server.url, '--broker', stack.services.urls.mqttMtls, '--ca', stack.services.caCert, '--moderator-email', moderatorEmail, '--moderator-password', TEST_PASSWORD,
      '--timeout-ms', '10000', '--features', 'moderator,mqtt,notifications,rest,protocol_1_1', '--known-failing', join(root, 'conformance/known-failing/server.txt'), '--report', `json:${json}`, '--report', `junit:${junit}`,
    ]);
    const report = JSON.parse(readFileSync(json, 'utf8')) as SuiteResult;
    expect(report.results.filter((x) => x.status !== 'passed').map((x) => `${x.name}: ${x.status} ${x.skipReason ?? ''}`), r.out).toEqual([]);
    expect(r.code, r.out).toBe(0);
    expect(report.features).toEqual(['moderator', 'mqtt', 'notifications', 'protocol_1_1', 'rest']);
    expect(report.results.length).toBeGreaterThanOrEqual(60);
    expect(readFileSync(junit, 'utf8')).toMatch(/<testsuite name="server" tests="\d+" failures="0" errors="0" skipped="0"/);
  }, 180_000);

  it('the MQTT-only form passes against our server with a player registered through REST', async () => {
    const owner = await registerUser(stack.api);
    const other = await registerUser(stack.api);
    for (const [who, title] of [[other, 'Zero'], [owner, 'One'], [other, 'Two'], [owner, 'Three']] as const) {
      const p = await stack.api.createPost({ body: { title, art_url: 'https://cdn.example.test/a.png', canvas: '8x8', width: 8, height: 8 } }, { token: who.token });
      expect(p.status).toBe(201);
    }
    const player = await provisionPlayer(stack.api, owner);
    const files = { ca: join(tmp, 'ca.pem'), cert: join(tmp, 'cert.pem'), key: join(tmp, 'key.pem') };
    writeFileSync(files.ca, player.ca_pem);
    writeFileSync(files.cert, player.cert_pem);
    writeFileSync(files.key, player.key_pem);
    const lines: string[] = [];
    const code = await main(['server', '--broker', stack.services.urls.mqttMtls, '--ca', files.ca, '--cert', files.cert, '--key', files.key, '--player-key', player.player_key, '--timeout-ms', '10000', '--mqtt-version', '3.1.1'], { out: (l) => lines.push(l), err: (l) => lines.push(l) });
    const out = lines.join('\n');
    expect(out).not.toContain('FAILED');
    expect(code, out).toBe(0);
    expect(out).toMatch(/passed {3}server\/mqtt\/flows\/pagination_walk /);
    expect(out).toMatch(/passed {3}server\/mqtt\/query_posts\/by_user /);
    // Without REST nobody wrote comments: the comment pages cannot be walked.
    expect(out).toMatch(/skipped {2}server\/mqtt\/flows\/comments_walk {2}the target has 0 item/);
    expect(out).toMatch(/skipped {2}server\/mqtt\/command\/show_artwork {2}needs feature rest/);
  }, 180_000);

  it('the player suite passes against the simulator registered on our server (empty known-failing list)', async () => {
    const owner = await registerUser(stack.api);
    const sim = new SimPlayer({ heartbeatMs: 500, queryOnConnect: true, submitViews: true });
    const provisioned = await sim.provision({ apiUrl: stack.server.url });
    const creds = sim.waitForCredentials({ pollMs: 100, timeoutMs: 10_000 });
    const reg = await stack.api.registerPlayer({ body: { registration_code: provisioned.registration_code, name: 'sim' } }, { token: owner.token });
    expect(reg.status).toBe(201);
    await creds;
    let connecting: Promise<void> | undefined;
    const r = await runPlayerSuite(
      { brokerUrl: stack.services.urls.mqttInternal, username: stack.services.serverAccount.username, password: stack.services.serverAccount.password, playerKey: provisioned.player_key, timeoutMs: 5000, heartbeatMs: 1000, toleranceMs: 1000 },
      loadCaseFiles(), { knownFailing: readKnownFailing(join(root, 'conformance/known-failing/player.txt')) },
      () => {
        connecting = sim.connect({ brokerUrl: stack.services.urls.mqttMtls });
      },
    );
    await connecting;
    await sim.disconnect({ graceful: false });
    expect(r.results.filter((x) => x.status !== 'passed').map((x) => x.name), formatHuman(r)).toEqual([]);
    expect(r.stale).toEqual([]);
  }, 60_000);
});
