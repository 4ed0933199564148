// The server suite (MQTT-only form, through the CLI's main) against in-memory fake servers on a
// real Mosquitto: the correct fake passes every MQTT case; each broken fake is caught by the
// expected cases with the expected mismatch, and nothing else in its selection fails.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDevPki, issueClientCert } from '../../server/devenv/pki.js';
import { startBroker, type Broker } from '../../server/devenv/broker.js';
import { main, type Io } from '../src/cli/main.js';
import type { SuiteResult } from '../src/run/execute.js';
import { startFakeServer, type FakeBehaviour } from './fakes/fake-server.js';
import * as broken from './fakes/servers/index.js';

let tmp: string;
let broker: Broker;
let args: string[];
let playerKey: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'conformance-fakes-'));
  const pki = await ensureDevPki(join(tmp, 'pki'));
  broker = await startBroker({ dir: join(tmp, 'mosquitto'), pki });
  playerKey = randomUUID();
  const cert = await issueClientCert(pki.dir, playerKey);
  writeFileSync(join(tmp, 'cert.pem'), cert.certPem);
  writeFileSync(join(tmp, 'key.pem'), cert.keyPem);
  args = ['server', '--broker', broker.urls.mtls, '--ca', pki.caCert, '--cert', join(tmp, 'cert.pem'), '--key', join(tmp, 'key.pem'), '--player-key', playerKey];
});

afterAll(async () => {
  await broker?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface Run {
  code: number;
  out: string;
  report: SuiteResult;
}

async function runAgainst(behaviour: Partial<FakeBehaviour>, extra: string[]): Promise<Run> {
  const fake = await startFakeServer({ brokerUrl: broker.urls.internal, username: broker.serverAccount.username, password: broker.serverAccount.password, playerKey, behaviour });
  const lines: string[] = [];
  const io: Io = { out: (l) => lines.push(l), err: (l) => lines.push(l) };
  const reportFile = join(tmp, `report-${randomUUID()}.json`);
  try {
    const code = await main([...args, '--report', `json:${reportFile}`, ...extra], io);
    return { code, out: lines.join('\n'), report: JSON.parse(readFileSync(reportFile, 'utf8')) as SuiteResult };
  } finally {
    await fake.stop();
  }
}

describe('server suite against fake servers', () => {
  it('passes every MQTT case against the correct fake and skips the REST ones', async () => {
    const r = await runAgainst({}, ['--timeout-ms', '3000']);
    const failed = r.report.results.filter((x) => x.status === 'failed');
    expect(failed.map((f) => f.name), r.out).toEqual([]);
    expect(r.code).toBe(0);
    const passed = r.report.results.filter((x) => x.status === 'passed').map((x) => x.name);
    expect(passed).toContain('server/mqtt/query_posts/by_user');
    expect(passed).toContain('server/mqtt/get_comments/next_page');
    expect(passed).toContain('server/mqtt/flows/sixth_reaction_refused');
    expect(passed).toContain('server/mqtt/negatives/tampered_cursor');
    expect(passed.length).toBeGreaterThanOrEqual(45);
    const skipped = r.report.results.filter((x) => x.status === 'skipped');
    expect(skipped.every((s) => s.skipReason?.startsWith('needs feature'))).toBe(true);
    expect(skipped.map((s) => s.name)).toContain('server/mqtt/command/show_artwork');
    expect(r.out).toMatch(/^server: \d+ passed, 0 failed, \d+ skipped, 0 known failing/m);
  });

  for (const [id, fake] of Object.entries(broken)) {
    it(`catches the ${fake.family} fake (${id}) with ${fake.caughtBy.join(', ')}`, async () => {
      const r = await runAgainst(fake.behaviour, ['--timeout-ms', '1500', ...fake.caughtBy.flatMap((c) => ['--run', c])]);
      expect(r.code, r.out).toBe(1);
      expect(r.report.results.map((x) => [x.name, x.status]).sort()).toEqual(fake.caughtBy.map((c) => [c, 'failed']).sort());
      const first = r.report.results.find((x) => x.name === fake.caughtBy[0])!;
      expect(first.mismatches.map((m) => m.pointer), r.out).toContain(fake.pointer);
      expect(r.out).toContain(`FAILED: ${fake.caughtBy[0]}`);
      expect(first.reproduce.some((c) => c.startsWith('mosquitto_rr ') && c.includes(playerKey)), r.out).toBe(true);
    });
  }

  it('reports the wrong topic it saw and the reproducing command', async () => {
    const r = await runAgainst(broken.wrongTopic.behaviour, ['--timeout-ms', '1000', '--run', 'server/mqtt/query_posts/all_default']);
    expect(r.out).toContain(`nothing on this topic; 1 message(s) on makapix/player/${playerKey}/response`);
    expect(r.out).toMatch(/reproduce: mosquitto_rr -h 127\.0\.0\.1 -p \d+ --cafile \S+ --cert \S+ --key \S+ -q 1 -t makapix\/player\/[0-9a-f-]+\/request\/[0-9a-f]{32} -e makapix\/player\/[0-9a-f-]+\/response\/[0-9a-f]{32} -W 1 -m '\{"request_id":/);
  });

  it('exits 2 when no server answers on the broker', async () => {
    const lines: string[] = [];
    const code = await main([...args, '--timeout-ms', '500'], { out: (l) => lines.push(l), err: (l) => lines.push(l) });
    expect(code).toBe(2);
    expect(lines.join('\n')).toContain(`error: no answer to a query_posts request within 500 ms on makapix/player/${playerKey}/response/#`);
  });

  it('applies a strict known-failing list: listed failures pass the run, stale entries fail it', async () => {
    const list = join(tmp, 'known-failing.txt');
    writeFileSync(list, '# get_comments is not implemented yet\nserver/mqtt/get_comments/threaded_page\n');
    const ok = await runAgainst(broken.noAnswer.behaviour, ['--timeout-ms', '1000', '--run', 'server/mqtt/get_comments/threaded_page', '--known-failing', list]);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.report.results[0].status).toBe('known_failing');
    const stale = await runAgainst({}, ['--timeout-ms', '1000', '--run', 'server/mqtt/get_comments/threaded_page', '--known-failing', list]);
    expect(stale.code).toBe(1);
    expect(stale.out).toContain('FAILED: known-failing entry server/mqtt/get_comments/threaded_page');
    expect(stale.out).toContain('now passes');
  });
});
