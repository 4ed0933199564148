// The retry loop and the error classification, without real components (the real database and
// broker are in wait-for-dependencies.test.ts).
import postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { MigrationError } from '../../src/db/index.js';
import {
  ClosedBeforeConnackError, StartupBudget, StartupError, classifyBrokerError, classifyDatabaseError, urlWithoutPassword, waitFor,
} from '../../src/startup/index.js';

const dependency = { name: 'Thing', url: 'tcp://thing:1', credentialsHint: 'THING_PASSWORD' };
const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });

/** A clock that moves only when waitFor pauses: the budget is spent in simulated time, not waited for. */
function fakeTime() {
  let t = 1_000_000;
  const now = () => t;
  return { now, sleep: async (ms: number) => void (t += ms), budget: (seconds: number) => new StartupBudget(seconds, now), elapsed: () => t - 1_000_000 };
}

function recorder() {
  const warnings: { obj: Record<string, unknown>; msg: string }[] = [];
  return { warnings, log: { warn: (obj: Record<string, unknown>, msg: string) => void warnings.push({ obj, msg }) } as never };
}

describe('waitFor', () => {
  it('retries an unreachable dependency with doubling pauses and returns once it answers', async () => {
    const { warnings, log } = recorder();
    const time = fakeTime();
    let calls = 0;
    const result = await waitFor({
      dependency, budget: time.budget(10), log, now: time.now, sleep: time.sleep,
      attempt: async () => {
        calls += 1;
        if (calls < 4) throw refused();
        return 'up';
      },
      classify: () => 'retry',
    });
    expect(result).toBe('up');
    expect(warnings.map((w) => w.obj.retryInMs)).toEqual([250, 500, 1000]);
    expect(warnings.map((w) => w.obj.attempt)).toEqual([1, 2, 3]);
    expect(warnings[0]!.msg).toMatch(/^Thing at tcp:\/\/thing:1 is unreachable \(connect ECONNREFUSED 127\.0\.0\.1:1\); attempt 1, retrying in 0\.25 s/);
    expect(warnings[0]!.obj).toMatchObject({ dependency: 'Thing', url: 'tcp://thing:1', err: 'connect ECONNREFUSED 127.0.0.1:1' });
  });

  it('gives up when the budget is spent, naming the dependency and the setting', async () => {
    const { warnings, log } = recorder();
    const time = fakeTime();
    const err = await waitFor({ dependency, budget: time.budget(1), log, now: time.now, sleep: time.sleep, attempt: () => Promise.reject(refused()), classify: () => 'retry' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StartupError);
    expect((err as Error).message).toBe(
      'Thing at tcp://thing:1 is unreachable (connect ECONNREFUSED 127.0.0.1:1); gave up after 4 attempts in 1 s (STARTUP_WAIT_SECONDS=1)',
    );
    expect(time.elapsed()).toBe(1000);
    // 0.25 + 0.5 and then what is left of the second
    expect(warnings.map((w) => w.obj.retryInMs)).toEqual([250, 500, 250]);
  });

  it('makes one attempt with STARTUP_WAIT_SECONDS=0', async () => {
    const { warnings, log } = recorder();
    let calls = 0;
    const err = await waitFor({
      dependency, budget: new StartupBudget(0), log,
      attempt: () => { calls += 1; return Promise.reject(refused()); },
      classify: () => 'retry',
    }).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(warnings).toEqual([]);
    expect((err as Error).message).toBe('Thing at tcp://thing:1 is unreachable (connect ECONNREFUSED 127.0.0.1:1); STARTUP_WAIT_SECONDS=0, so startup does not wait');
  });

  it('fails at once on rejected credentials and rethrows other errors unchanged', async () => {
    const { warnings, log } = recorder();
    const denied = await waitFor({
      dependency, budget: new StartupBudget(10), log, attempt: () => Promise.reject(new Error('password authentication failed')), classify: () => 'credentials',
    }).catch((e: unknown) => e);
    expect((denied as Error).message).toBe(
      'Thing at tcp://thing:1 rejected the credentials (password authentication failed); check THING_PASSWORD. Not retrying: wrong credentials do not fix themselves.',
    );
    const other = new Error('migration 0001 failed');
    await expect(waitFor({ dependency, budget: new StartupBudget(10), log, attempt: () => Promise.reject(other), classify: () => 'fatal' })).rejects.toBe(other);
    expect(warnings).toEqual([]);
  });
});

describe('classification', () => {
  const pgError = (code: string) => Object.assign(Object.create(postgres.PostgresError.prototype) as Error, { code, message: code });

  it('database: network and start-up errors retry, class 28 is credentials, the rest is fatal', () => {
    expect(classifyDatabaseError(refused())).toBe('retry');
    expect(classifyDatabaseError(Object.assign(new Error('x'), { code: 'ENOTFOUND' }))).toBe('retry');
    expect(classifyDatabaseError(Object.assign(new Error('x'), { code: 'CONNECT_TIMEOUT' }))).toBe('retry');
    expect(classifyDatabaseError(pgError('57P03'))).toBe('retry');
    expect(classifyDatabaseError(pgError('28P01'))).toBe('credentials');
    expect(classifyDatabaseError(pgError('28000'))).toBe('credentials');
    expect(classifyDatabaseError(pgError('3D000'))).toBe('fatal');
    expect(classifyDatabaseError(new MigrationError('migration 0002 failed: syntax', { cause: pgError('42601') }))).toBe('fatal');
    expect(classifyDatabaseError(new MigrationError('migration 0002 failed: lost', { cause: refused() }))).toBe('retry');
    expect(classifyDatabaseError(new Error('anything else'))).toBe('fatal');
  });

  it('broker: CONNACK 134/135 are credentials, 136/137 and network errors retry', () => {
    const connack = (code: number) => Object.assign(new Error(`Connection refused: ${code}`), { code });
    expect(classifyBrokerError(connack(134))).toBe('credentials');
    expect(classifyBrokerError(connack(135))).toBe('credentials');
    expect(classifyBrokerError(connack(136))).toBe('retry');
    expect(classifyBrokerError(connack(133))).toBe('fatal');
    expect(classifyBrokerError(refused())).toBe('retry');
    expect(classifyBrokerError(new ClosedBeforeConnackError())).toBe('retry');
    expect(classifyBrokerError(new Error('connack timeout'))).toBe('retry');
    expect(classifyBrokerError(Object.assign(new Error('self-signed'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }))).toBe('fatal');
  });
});

describe('urlWithoutPassword', () => {
  it('masks the password of the user-info and of a password parameter', () => {
    expect(urlWithoutPassword('postgres://makapix:s3cret@db:5432/makapix')).toBe('postgres://makapix:***@db:5432/makapix');
    expect(urlWithoutPassword('postgres://makapix@db/makapix?password=s3cret&sslmode=require')).toBe('postgres://makapix@db/makapix?password=***&sslmode=require');
    expect(urlWithoutPassword('mqtt://127.0.0.1:1883')).toBe('mqtt://127.0.0.1:1883');
    expect(urlWithoutPassword('not a url s3cret')).not.toContain('s3cret');
  });
});
