// A broker or postmaster left running on a dir (crashed test run, killed `make run`) is stopped
// by PID when the same dir is started again; processes of other dirs are left alone. One that its
// PID file does not name (started by hand) fails the start when it holds the ports, naming it.
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureDevPki } from '../../devenv/pki.js';
import { startBroker, type Broker } from '../../devenv/broker.js';
import { startPostgres, type Postgres } from '../../devenv/postgres.js';
import { isAlive } from '../../devenv/process-control.js';
import { connectServer, tempDir } from './helpers.js';

const tmp = tempDir();
const brokers: Broker[] = [];
const pgs: Postgres[] = [];

afterAll(async () => {
  await Promise.all([...brokers.map((b) => b.stop()), ...pgs.map((p) => p.stop())]);
  tmp.remove();
});

describe('restart over a stale process', () => {
  it('broker: stops the old one on the same dir, not the one on another dir', async () => {
    const pki = await ensureDevPki(`${tmp.path}/pki`);
    const other = await startBroker({ dir: `${tmp.path}/mq-other`, pki });
    const old = await startBroker({ dir: `${tmp.path}/mq`, pki });
    brokers.push(other, old);
    const fresh = await startBroker({ dir: `${tmp.path}/mq`, pki, ports: { internal: old.ports.internal } });
    brokers.push(fresh);
    expect(isAlive(old.pid)).toBe(false);
    expect(isAlive(other.pid)).toBe(true);
    await (await connectServer(fresh)).endAsync();
  });

  it('broker: a leftover not named by the PID file holds the ports: the start fails naming it, and leaves it alone', async () => {
    const pki = await ensureDevPki(`${tmp.path}/pki`);
    const leftover = await startBroker({ dir: `${tmp.path}/mq-left`, pki });
    brokers.push(leftover);
    writeFileSync(leftover.files.pid, '999999999\n'); // what a broker restarted by hand leaves behind
    const start = startBroker({ dir: `${tmp.path}/mq-left`, pki, ports: leftover.ports, portHint: 'pick other ports' });
    await expect(start).rejects.toThrow(new RegExp(
      `^mosquitto \\(internal listener\\): port ${leftover.ports.internal} on 127\\.0\\.0\\.1 is already in use by pid ${leftover.pid} \\(.*mosquitto -c ${leftover.files.conf}\\) ` +
      `\\(left over from an earlier run on this data dir, not the process its PID file names\\)\\. Stop that process \\(kill ${leftover.pid}\\) or pick other ports\\.$`,
    ));
    expect(isAlive(leftover.pid)).toBe(true);
    await (await connectServer(leftover)).endAsync(); // still the one answering
  });

  it('postgres: stops the old postmaster on the same dir and starts again', async () => {
    const old = await startPostgres({ dir: `${tmp.path}/pg`, forTests: true });
    pgs.push(old);
    const fresh = await startPostgres({ dir: `${tmp.path}/pg`, forTests: true, port: old.port });
    pgs.push(fresh);
    expect(isAlive(old.pid)).toBe(false);
    expect(isAlive(fresh.pid)).toBe(true);
  });
});
