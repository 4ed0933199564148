// Which process may be sent SIGHUP (identifyBroker: only a live mosquitto whose config sets our
// crlfile), and the proof that a revocation is in force (probeRevocation: the mTLS listener refuses
// a probe certificate carrying the revoked serial once it has loaded a CRL that lists it).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identifyBroker } from '../../src/broker/broker-process.js';
import { probeRevocation } from '../../src/broker/crl-probe.js';
import { issueRevocationProbe, REVOCATION_PROBE_CN, certificateInfo } from '../../src/pki/index.js';
import { startBroker, type Broker } from '../../devenv/broker.js';
import { revokeSerial } from '../../devenv/crl.js';
import { ensureDevPki, issueClientCert, loadCa, type DevPki } from '../../devenv/pki.js';
import { tempDir } from '../devenv/helpers.js';

const tmp = tempDir('makapix-broker-process-');
let pki: DevPki;
let ours: Broker;
let foreign: Broker;
let sleeper: ChildProcess;

beforeAll(async () => {
  pki = await ensureDevPki(`${tmp.path}/pki`);
  // the foreign broker has no crlfile; ours reads pki.crl
  [ours, foreign] = await Promise.all([
    startBroker({ dir: `${tmp.path}/ours`, pki }),
    startBroker({ dir: `${tmp.path}/foreign`, pki, useCrl: false }),
  ]);
  sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
});

afterAll(async () => {
  sleeper?.kill('SIGKILL');
  await Promise.all([ours?.stop(), foreign?.stop()]);
  tmp.remove();
});

describe('identifyBroker', () => {
  const pidFile = () => `${tmp.path}/broker.pid`;
  const withPid = (pid: number | string) => { writeFileSync(pidFile(), `${pid}\n`); return identifyBroker(pidFile(), pki.crl); };

  it('names our broker: a live mosquitto whose config sets our crlfile', () => {
    expect(identifyBroker(ours.files.pid, pki.crl)).toEqual({ pid: ours.pid });
  });

  it('refuses a missing or empty PID file, a dead PID, an unrelated process and a mosquitto with another config', async () => {
    expect(identifyBroker(`${tmp.path}/none.pid`, pki.crl)).toMatchObject({ problem: expect.stringMatching(/cannot read the broker PID file/) });
    expect(withPid('')).toMatchObject({ problem: expect.stringMatching(/no process id/) });
    const dead = spawn('true');
    await new Promise((r) => dead.once('exit', r));
    expect(withPid(dead.pid!)).toMatchObject({ problem: expect.stringMatching(new RegExp(`stale: no process ${dead.pid}`)) });
    expect(withPid(sleeper.pid!)).toMatchObject({ problem: expect.stringMatching(/is not mosquitto \(sleep 600\)/) });
    expect(withPid(foreign.pid)).toMatchObject({ problem: expect.stringMatching(/is not our broker: its config .* does not set crlfile/) });
  });
});

describe('probeRevocation', () => {
  it('a probe carries the serial asked for, CN makapix-crl-probe', async () => {
    const serial = (await issueClientCert(pki.dir, randomUUID())).serial;
    const probe = await issueRevocationProbe(await loadCa(pki.dir), serial);
    expect(certificateInfo(probe.certPem)).toMatchObject({ serialHex: serial, commonName: REVOCATION_PROBE_CN, clientAuth: true });
  });

  it('accepted until the broker has loaded a CRL listing the serial, refused after', async () => {
    const ca = await loadCa(pki.dir);
    const cert = await issueClientCert(pki.dir, randomUUID());
    const probe = () => probeRevocation({ url: ours.urls.mtls, ca, serialHex: cert.serial });
    expect(await probe()).toBe('accepted');
    await revokeSerial(pki.dir, cert.serial);
    expect(await probe()).toBe('accepted'); // written, not loaded
    await ours.reload();
    expect(await probe()).toBe('refused');
  });

  it('reports an unreachable listener as an error', async () => {
    const ca = await loadCa(pki.dir);
    const down = await startBroker({ dir: `${tmp.path}/down`, pki });
    await down.stop();
    const r = await probeRevocation({ url: down.urls.mtls, ca, serialHex: '0a' });
    expect(r).toMatchObject({ error: expect.stringMatching(/ECONNREFUSED/) });
  });
});
