// The faults of `make chaos` and how one run is measured. A run: start the system (system.ts),
// start the players (load.ts) and their bounded load, wait until answers flow, apply the fault,
// keep the load on for a while (the supervisors restart what died: nothing is done by hand), stop
// sending, wait for the last answers (bounded), then count from the ledger.
import { setTimeout as sleep } from 'node:timers/promises';
import type { SupervisorLog } from '../../devenv/supervise.js';
import { startFleet, type Ledger } from './load.js';
import { ChaosSystem } from './system.js';

export interface Fault {
  name: string;
  /** What it does, for the table's legend. */
  what: string;
  instances: number;
  apply(system: ChaosSystem): Promise<void>;
}

const kill9 = (pid: number): void => { process.kill(pid, 'SIGKILL'); };

export const FAULTS: readonly Fault[] = [
  { name: 'db-restart', what: 'PostgreSQL fast shutdown; the supervisor starts it again', instances: 1, apply: (s) => s.postgres.current.stop() },
  { name: 'db-kill9', what: 'kill -9 of the postmaster; the supervisor starts it again', instances: 1, apply: async (s) => kill9(s.postgres.current.pid) },
  { name: 'broker-kill9', what: 'kill -9 of Mosquitto (persistence off: its queues die with it); restarted', instances: 1, apply: async (s) => kill9(s.broker.current.pid) },
  { name: 'server-kill9', what: 'kill -9 of the only server instance; restarted (same MQTT_CLIENT_ID)', instances: 1, apply: async (s) => kill9(s.servers[0]!.current.pid) },
  { name: 'one-of-two-kill9', what: 'kill -9 of one of two instances; restarted (same MQTT_CLIENT_ID)', instances: 2, apply: async (s) => kill9(s.servers[1]!.current.pid) },
  {
    name: 'one-of-two-gone',
    what: 'kill -9 of one of two instances, NOT restarted (the broker keeps queueing its share in its session; the live instance takes it over after MQTT_SESSION_TAKEOVER_SECONDS)',
    instances: 2,
    apply: async (s) => { s.servers[1]!.release(); kill9(s.servers[1]!.current.pid); },
  },
];

export interface RunOptions {
  players: number;
  /** Requests per second, all players together. */
  rate: number;
  /** Load kept on after the fault. */
  afterMs: number;
  /** How long to wait for the last answers once sending stopped. */
  drainMs: number;
  log: SupervisorLog;
  /** Session expiry of the instances (default: the server's). */
  sessionExpirySeconds?: number;
}

export interface RunResult {
  fault: string;
  sent: number;
  answered: number;
  lost: number;
  /** Answered more than once, every answer the same. */
  duplicatedSame: number;
  /** Answered more than once with different answers (must be 0). */
  duplicatedDifferent: number;
  /** The simulated firmware gave up on it (no answer within 3 attempts), answered later or not. */
  gaveUp: number;
  /** Requests re-published at least once by the player. */
  retried: number;
  /** First answers that are errors, by error code. */
  errors: Record<string, number>;
  /** Seconds from the fault to the first successful answer to a request sent after it; null: none. */
  recoverSeconds: number | null;
}

/** Polls until `ok()` or the deadline; returns whether it held. */
async function until(ok: () => boolean, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

export function tally(fault: string, ledger: Ledger, faultAt: number): RunResult {
  const all = [...ledger.requests.values()];
  const errors: Record<string, number> = {};
  let recover: number | null = null;
  for (const r of all) {
    const first = r.answers[0];
    if (first && !first.success) errors[first.code ?? 'unknown'] = (errors[first.code ?? 'unknown'] ?? 0) + 1;
    if (r.sentAt >= faultAt) {
      const ok = r.answers.find((a) => a.success);
      if (ok && (recover === null || ok.at < recover)) recover = ok.at;
    }
  }
  const multi = all.filter((r) => r.answers.length > 1);
  const differs = (r: (typeof all)[number]) => r.answers.some((a) => a.json !== r.answers[0]!.json);
  return {
    fault,
    sent: all.length,
    answered: all.filter((r) => r.answers.length > 0).length,
    lost: all.filter((r) => r.answers.length === 0).length,
    duplicatedSame: multi.filter((r) => !differs(r)).length,
    duplicatedDifferent: multi.filter(differs).length,
    gaveUp: all.filter((r) => r.gaveUp).length,
    retried: all.filter((r) => r.attempts > 1).length,
    errors,
    recoverSeconds: recover === null ? null : (recover - faultAt) / 1000,
  };
}

/** One run of one fault against a fresh system. */
export async function runFault(fault: Fault, o: RunOptions): Promise<RunResult> {
  const system = await ChaosSystem.start({ instances: fault.instances, log: o.log, sessionExpirySeconds: o.sessionExpirySeconds });
  try {
    const fleet = await startFleet(system.apiUrl, o.players, fault.name.replace(/[^a-z0-9]/g, ''));
    try {
      const load = fleet.drive(o.rate);
      // answers flow before the fault
      const flowing = await until(() => [...fleet.ledger.requests.values()].filter((r) => r.answers.some((a) => a.success)).length >= o.rate, 30_000);
      if (!flowing) throw new Error(`${fault.name}: no answers before the fault`);
      const faultAt = Date.now();
      await fault.apply(system);
      await sleep(o.afterMs);
      await load.stop(); // waits for every request's last attempt
      await until(() => fleet.ledger.unanswered().length === 0, o.drainMs);
      return tally(fault.name, fleet.ledger, faultAt);
    } finally {
      await fleet.close();
    }
  } finally {
    await system.stop();
  }
}

/** The table `make chaos` prints. */
export function formatTable(rows: RunResult[]): string {
  const head = ['fault', 'sent', 'answered', 'lost', 'dup same', 'dup different', 'retried', 'gave up', 'error answers', 'recover s'];
  const lines = rows.map((r) => [
    r.fault, String(r.sent), String(r.answered), String(r.lost), String(r.duplicatedSame), String(r.duplicatedDifferent),
    String(r.retried), String(r.gaveUp),
    Object.entries(r.errors).map(([k, v]) => `${k} ${v}`).join(', ') || '-',
    r.recoverSeconds === null ? 'none' : r.recoverSeconds.toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [row(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n');
}
