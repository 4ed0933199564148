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
