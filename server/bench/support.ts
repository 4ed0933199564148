// Shared by the benches: CPU time and resident memory of other processes (the broker, PostgreSQL and
// its backends, server processes) read from /proc, and the machine-readable result a bench leaves for
// the table runner (server/bench/table.ts).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime+stime (and, with children, cutime+cstime) of a process in seconds, from /proc; null when unreadable. */
function procStat(pid: number): { ppid: number; self: number; reaped: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    return { ppid: Number(f[1]), self: (Number(f[11]) + Number(f[12])) / CLK_TCK, reaped: (Number(f[13]) + Number(f[14])) / CLK_TCK };
  } catch {
    return null;
  }
}

/** CPU seconds of a process and its live children (plus the children it already reaped); null when unknown. */
export function treeCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  const root = procStat(pid);
  if (!root) return null;
  let total = root.self + root.reaped;
  try {
    for (const d of readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(d)) continue;
      const st = procStat(Number(d));
      if (st && st.ppid === pid) total += st.self;
    }
  } catch {
    // no /proc: the root alone
  }
  return total;
}

/**
 * Writes `figures` as JSON to the file named by BENCH_RESULT, when set (the table runner sets it);
 * a bench prints its own human-readable lines regardless.
 */
export function writeBenchResult(figures: Record<string, unknown>): void {
  const path = process.env.BENCH_RESULT;
  if (path) writeFileSync(path, JSON.stringify(figures, null, 2) + '\n');
}

/** Runs task(0..n-1), at most `concurrency` at once; the results in order. The first failure stops handing out work and rejects. */
export async function pool<T>(n: number, concurrency: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(n);
  let next = 0;
  let failed = false;
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
    while (!failed && next < n) {
      const i = next++;
      try {
        out[i] = await task(i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  }));
  return out;
}

/** A player as the p3a flow leaves it: its key and what getPlayerCredentials served (certificate, key, CA). */
export interface ProvisionedPlayer { player_key: string; cert_pem: string; key_pem?: string; ca_pem: string; api_token?: string; broker: { host: string; port: number } }

/** The REST calls of a bench's players (the generated client's, as used here). */
interface BenchApi {
  authRegister(a: { body: { handle: string; email: string; password: string } }): Promise<{ status: number; body: unknown }>;
  provisionPlayer(a: { body: Record<string, never> }): Promise<{ status: number; body: unknown }>;
  registerPlayer(a: { body: { registration_code: string; name: string } }, o: { token: string }): Promise<{ status: number; body: unknown }>;
  getPlayerCredentials(a: { params: { player_key: string } }): Promise<{ status: number; body: unknown }>;
}

/** Registers `count` owners (`<prefix>-owner-<i>`) through the REST API; their access tokens. */
export async function registerOwners(api: BenchApi, count: number, prefix: string): Promise<string[]> {
  return pool(count, 4, async (i) => {
    const r = await api.authRegister({ body: { handle: `${prefix}-owner-${i}`, email: `${prefix}-owner-${i}@example.test`, password: 'bench owner password' } });
    if (r.status !== 201) throw new Error(`registering owner ${i}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return (r.body as { token: string }).token;
  });
}

/**
 * Provisions, registers (to the owners of `tokens` in turn) and fetches credentials for `n` players
 * through the REST API, `concurrency` at a time: the p3a flow.
 */
export async function provisionPlayers(api: BenchApi, tokens: readonly string[], n: number, opts: { concurrency: number; prefix: string; progress?: (done: number) => void }): Promise<ProvisionedPlayer[]> {
  let done = 0;
  return pool(n, opts.concurrency, async (i) => {
    const p = await api.provisionPlayer({ body: {} });
    if (p.status !== 201) throw new Error(`provisioning player ${i}: HTTP ${p.status} ${JSON.stringify(p.body)}`);
    const { registration_code, player_key } = p.body as { registration_code: string; player_key: string };
    const r = await api.registerPlayer({ body: { registration_code, name: `${opts.prefix} ${i}` } }, { token: tokens[i % tokens.length]! });
    if (r.status !== 201) throw new Error(`registering player ${i}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    const c = await api.getPlayerCredentials({ params: { player_key } });
    if (c.status !== 200) throw new Error(`credentials of player ${i}: HTTP ${c.status} ${JSON.stringify(c.body)}`);
    opts.progress?.(++done);
    return { player_key, ...(c.body as Omit<ProvisionedPlayer, 'player_key'>) };
  });
}

/** Resident memory of a process in bytes (VmRSS, and RssAnon: its anonymous part: heap, stacks), from /proc; null when unreadable. */
export function residentBytes(pid: number): { rss: number; anon: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+([0-9]+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    const rss = kb('VmRSS');
    return Number.isFinite(rss) ? { rss, anon: kb('RssAnon') } : null;
  } catch {
    return null;
  }
}

/** Samples the resident memory of some processes (from outside, /proc) every `everyMs`; keeps each one's samples. */
export class RssSampler {
  /** Per pid, in the order given: its samples (bytes). */
  readonly samples: { rss: number; anon: number }[][];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pids: number[], everyMs = 1000) {
    this.samples = pids.map(() => []);
    this.take();
    this.timer = setInterval(() => this.take(), everyMs);
  }

  /** One sample of each process now (null for one that could not be read). */
  take(): ({ rss: number; anon: number } | null)[] {
    return this.pids.map((pid, i) => {
      const s = residentBytes(pid);
      if (s) this.samples[i]!.push(s);
      return s;
    });
  }

  /** The highest RSS seen of each process (NaN when none could be read). */
  peaks(): number[] {
    return this.samples.map((l) => (l.length === 0 ? NaN : Math.max(...l.map((s) => s.rss))));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
