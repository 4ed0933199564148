// The simulator's pure parts: the shared scheduler, the artwork queue, the CLI options.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ArtworkQueue } from '../../src/sim/artwork-queue.js';
import { parseSimArgs, type SimCliOptions } from '../../src/sim/cli-args.js';
import { SharedScheduler } from '../../src/sim/scheduler.js';

describe('SharedScheduler', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs many jobs from one timer, each at its own period and phase', () => {
    vi.useFakeTimers();
    const s = new SharedScheduler();
    const runs: string[] = [];
    s.every(100, () => runs.push('a'));
    s.every(250, () => runs.push('b'));
    s.every(100, () => runs.push('c'), { firstDelayMs: 50 });
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(500);
    expect(runs.filter((r) => r === 'a')).toHaveLength(5);
    expect(runs.filter((r) => r === 'b')).toHaveLength(2);
    expect(runs.filter((r) => r === 'c')).toHaveLength(5);
    expect(runs.slice(0, 3)).toEqual(['c', 'a', 'c']);
    expect(vi.getTimerCount()).toBe(1);
    s.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('cancel stops one job; the timer goes when the last one is cancelled; a throwing job does not stop the others', () => {
    vi.useFakeTimers();
    const s = new SharedScheduler();
    let a = 0;
    let b = 0;
    const ja = s.every(100, () => {
      a++;
      throw new Error('boom');
    });
    const jb = s.every(100, () => b++);
    vi.advanceTimersByTime(250);
    expect([a, b]).toEqual([2, 2]);
    ja.cancel();
    ja.cancel();
    expect(s.size).toBe(1);
    vi.advanceTimersByTime(200);
    expect([a, b]).toEqual([2, 4]);
    jb.cancel();
    expect(s.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('after a stall, a late job runs once and keeps its period from then (no burst)', () => {
    let now = 0;
    vi.useFakeTimers();
    const s = new SharedScheduler(() => now);
    let runs = 0;
    s.every(100, () => runs++);
    now = 1000; // the event loop was blocked for 1 s
    vi.advanceTimersByTime(100);
    expect(runs).toBe(1);
    now = 1050;
    vi.advanceTimersByTime(50);
    expect(runs).toBe(1);
    now = 1100;
    vi.advanceTimersByTime(50);
    expect(runs).toBe(2);
    s.stop();
  });

  it('rejects a non-positive interval', () => {
    expect(() => new SharedScheduler().every(0, () => undefined)).toThrow(/positive/);
  });
});

describe('ArtworkQueue', () => {
  it('moves forward and back with wrap-around, and show_artwork follows a listed post', () => {
    const q = new ArtworkQueue();
    expect(q.next()).toBe(false);
    expect(q.currentPostId).toBeNull();
    q.replace([10, 20, 30]);
    expect(q.back()).toBe(true);
    expect(q.currentPostId).toBe(30);
    q.next();
    expect(q.currentPostId).toBe(10);
    q.show(20);
    q.next();
    expect(q.currentPostId).toBe(30);
    q.show(99); // not in the list: current, position unchanged
    expect(q.currentPostId).toBe(99);
    q.next();
    expect(q.currentPostId).toBe(10);
    q.replace([5, 10]);
    q.next();
    expect(q.currentPostId).toBe(5);
  });
});

describe('parseSimArgs', () => {
  const ok = (argv: string[]): SimCliOptions => {
    const r = parseSimArgs(argv);
    if (r.help || 'error' in r) throw new Error(`expected options, got ${JSON.stringify(r)}`);
    return r.options;
  };
  const error = (argv: string[]): string => {
    const r = parseSimArgs(argv);
    if (!('error' in r)) throw new Error(`expected an error, got ${JSON.stringify(r)}`);
    return r.error;
  };

  it('provisioning mode with defaults', () => {
    expect(ok(['--api', 'http://127.0.0.1:3000'])).toMatchObject({
      api: 'http://127.0.0.1:3000', count: 1, protocolVersion: 5, heartbeatMs: 30_000, pollMs: 3000, reconnectMs: 5000,
      registerTokens: [], queryPosts: false, verbose: false,
    });
  });

  it('credentials mode, MQTT 3.1.1, a fleet with owner tokens', () => {
    expect(ok(['--cert', 'c', '--key', 'k', '--ca', 'a', '--player-key', 'p', '--broker', 'mqtts://h:8883', '--mqtt-version', '3.1.1']))
      .toMatchObject({ files: { cert: 'c', key: 'k', ca: 'a', playerKey: 'p' }, broker: 'mqtts://h:8883', protocolVersion: 4 });
    expect(ok(['--api', 'http://a', '--count', '20', '--register-token', 't1', '--register-token', 't2', '--heartbeat-ms', '500', '--verbose']))
      .toMatchObject({ count: 20, registerTokens: ['t1', 't2'], heartbeatMs: 500, verbose: true });
  });

  it('names every problem', () => {
    expect(error([])).toContain('give --api URL');
    expect(error(['--api', 'http://a', '--cert', 'c'])).toContain('exclude each other');
    expect(error(['--cert', 'c', '--key', 'k', '--ca', 'a', '--player-key', 'p'])).toContain('--broker is required');
    expect(error(['--api', 'http://a', '--mqtt-version', '3'])).toContain('--mqtt-version must be 5 or 3.1.1');
    expect(error(['--api', 'http://a', '--count', '0'])).toContain('--count must be an integer >= 1');
    expect(error(['--api', 'ftp://a'])).toContain('--api must be a http: or https: URL');
    expect(error(['--api', 'http://a', '--bogus'])).toMatch(/bogus/);
    expect(parseSimArgs(['--help'])).toEqual({ help: true });
  });

  it('--profile p3a (with --vault), default profile otherwise', () => {
    expect(ok(['--api', 'http://a'])).toMatchObject({ profile: 'default', vault: undefined });
    expect(ok(['--api', 'http://a', '--profile', 'p3a', '--vault', 'http://a/vault'])).toMatchObject({ profile: 'p3a', vault: 'http://a/vault' });
    expect(error(['--api', 'http://a', '--profile', 'esp'])).toContain('--profile must be default or p3a');
    expect(error(['--api', 'http://a', '--vault', 'http://a/vault'])).toContain('--vault needs --profile p3a');
  });
});
