// A broker or postmaster left running on a dir (crashed test run, killed `make run`) is stopped
// by PID when the same dir is started again; processes of other dirs are left alone.
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

  it('postgres: stops the old postmaster on the same dir and starts again', async () => {
    const old = await startPostgres({ dir: `${tmp.path}/pg`, forTests: true });
    pgs.push(old);
    const fresh = await startPostgres({ dir: `${tmp.path}/pg`, forTests: true, port: old.port });
    pgs.push(fresh);
    expect(isAlive(old.pid)).toBe(false);
    expect(isAlive(fresh.pid)).toBe(true);
  });
});
