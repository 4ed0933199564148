// Shared by the benches: CPU time of other processes (the broker, PostgreSQL and its backends) read
// from /proc, and the machine-readable result a bench leaves for the table runner (server/bench/table.ts).
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
