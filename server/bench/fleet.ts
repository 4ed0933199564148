// Benchmark: does ONE server process keep up with thousands of players?
//   1. starts its own broker + database (server/devenv) and the server as its own process, from the
//      esbuild bundle the chaos runs use (server/test/chaos/server-bundle.ts: compiled code, as
//      deployed, no tsx in it), with its own HTTP port, METRICS_PORT and MQTT_CLIENT_ID;
//   2. provisions, registers and fetches credentials for N players through the REST API
//      (bounded concurrency; owners hold at most MAX_PLAYERS_PER_USER players each, so there are
//      ceil(N / 128) owners) and creates a few posts;
//   3. a CHILD process (so the load generator does not take the server's CPU) runs the players with
//      the reference simulator (SimFleet): mTLS connects (bounded and staggered), heartbeats every
//      --heartbeat-ms (accelerated: real players send one every 30-60 s) and one query_posts every
//      --request-ms per player, for --seconds;
//   4. meanwhile this process looks at the server from outside: CPU and RSS from /proc/<pid> (RSS
//      every second), the request and status counters, event-loop delay, GC pauses and heap used
//      from its Prometheus endpoint (scraped before the connects, at the start and at the end of
//      the window); after the window it counts, with a pool of its own, the players the database
//      has online and seen within two heartbeat periods.
// The provisioning row gives CPU per player of the server process(es) and of this process (the
// REST client) separately. --instances 2 starts a second server process on the same broker and
// database: the shared subscriptions split requests and statuses between them; the report shows
// each instance's share and the combined rate (RSS: each process's; JSON rssPeakMb: the largest).
// --heap-snapshots DIR: the servers run with --heapsnapshot-signal and write a heap snapshot before
// the players connect and one at the end of the window into DIR (server/bench/heap-summary.ts
// compares them); writing one takes seconds and memory, so measure RSS and latency without it.
// --server-node-options: node/V8 options of the server processes (heap limits, GC settings).
// Prints numbers; asserts nothing. Exits non-zero when the run itself fails (including when not
// every player could connect: the summary is printed first).
//   npx tsx server/bench/fleet.ts [--players 2000] [--seconds 30] [--heartbeat-ms 5000] [--request-ms 10000]
//     [--timeout-ms 10000] [--provision-concurrency 16] [--connect-concurrency 32] [--stagger-ms 2] [--posts 50] [--instances 1]
//     [--heap-snapshots DIR] [--server-node-options "--max-old-space-size=128 ..."]
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { RequestTimeoutError } from '#runtime/v1';
import { createClient } from '@makapix/contract/openapi/client';
import { DEFAULT_QUERY, SimFleet, type SimCredentials, type SimPlayer } from '../../conformance/src/sim/index.js';
import { freePorts, isAlive, serverEnv, startServices, stopPid } from '../devenv/index.js';
import { waitForPort } from '../devenv/wait-port.js';
import { createSql } from '../src/db/client.js';
import { METRICS_PATH } from '../src/metrics/listener.js';
import { MAX_PLAYERS_PER_USER } from '../src/rest/players.js';
import { buildServerBundle } from '../test/chaos/server-bundle.js';
import { parseExposition, samples, total } from '../test/support/prometheus-text.js';
import { pool, provisionPlayers, registerOwners, RssSampler, treeCpuSeconds, writeBenchResult } from './support.js';

// ---------------------------------------------------------------- options

const USAGE = `usage: npx tsx server/bench/fleet.ts [--players 2000] [--seconds 30] [--heartbeat-ms 5000]
  [--request-ms 10000] [--timeout-ms 10000] [--provision-concurrency 16] [--connect-concurrency 32]
  [--stagger-ms 2] [--posts 50] [--instances 1] [--heap-snapshots DIR] [--server-node-options "--max-old-space-size=128"]`;

interface Options {
  players: number;
  seconds: number;
  heartbeatMs: number;
  requestMs: number;
  timeoutMs: number;
  provisionConcurrency: number;
  connectConcurrency: number;
  staggerMs: number;
  posts: number;
  instances: number;
  /** Where the servers write heap snapshots (before the players connect, at the end of the window); null: none. */
  heapSnapshots: string | null;
  /** More node options for the server processes (V8 heap settings, e.g. "--max-old-space-size=128"). */
  serverNodeOptions: string[];
}

function options(argv: string[]): Options {
  const known: Record<string, Exclude<keyof Options, 'heapSnapshots' | 'serverNodeOptions'>> = {
    players: 'players', seconds: 'seconds', 'heartbeat-ms': 'heartbeatMs', 'request-ms': 'requestMs', 'timeout-ms': 'timeoutMs',
    'provision-concurrency': 'provisionConcurrency', 'connect-concurrency': 'connectConcurrency', 'stagger-ms': 'staggerMs', posts: 'posts', instances: 'instances',
  };
  const o: Options = {
    players: 2000, seconds: 30, heartbeatMs: 5000, requestMs: 10_000, timeoutMs: 10_000,
    provisionConcurrency: 16, connectConcurrency: 32, staggerMs: 2, posts: 50, instances: 1, heapSnapshots: null, serverNodeOptions: [],
  };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (argv[i] === '--heap-snapshots') {
      const dir = argv[i + 1];
      if (dir === undefined || dir === '' || dir.startsWith('--')) throw new UsageError('--heap-snapshots needs a directory');
      o.heapSnapshots = dir;
      continue;
    }
    if (argv[i] === '--server-node-options') {
      const flags = (argv[i + 1] ?? '').split(' ').filter((f) => f !== '');
      if (flags.length === 0 || flags.some((f) => !f.startsWith('--'))) throw new UsageError(`--server-node-options needs node options, e.g. "--max-old-space-size=128" (got ${JSON.stringify(argv[i + 1])})`);
      o.serverNodeOptions = flags;
      continue;
    }
    const field = known[name];
    if (!argv[i].startsWith('--') || field === undefined) throw new UsageError(`unknown option ${argv[i]}`);
    const value = Number(argv[i + 1]);
    const min = field === 'staggerMs' || field === 'posts' ? 0 : 1;
    if (!Number.isInteger(value) || value < min) throw new UsageError(`--${name} needs an integer >= ${min} (got ${JSON.stringify(argv[i + 1])})`);
    o[field] = value;
  }
  return o;
}

class UsageError extends Error {}

// ---------------------------------------------------------------- parent <-> child messages

interface ChildInput {
  players: SimCredentials[];
  seconds: number;
  heartbeatMs: number;
  requestMs: number;
  timeoutMs: number;
  connectConcurrency: number;
  staggerMs: number;
}

interface ChildResult {
  type: 'result';
  /** Heartbeats (online statuses) published during the window. */
  heartbeats: number;
  requests: number;
  answers: number;
  byCode: Record<string, number>;
  /** No answer within timeoutMs (no retries). */
  timeouts: number;
  /** The request could not be published (player not connected). */
  sendFailed: number;
  p50: number;
  p99: number;
  max: number;
  /** p99 latency of the requests sent in each tenth of the window (warm-up, GC pauses, periodic work show here). */
  sliceP99: number[];
  /** Connections closed during the window. */
  closed: number;
  windowMs: number;
  /** The load generator's own health: CPU (% of one core) and event-loop delay during the window. */
  cpuPercent: number;
  eldP99: number;
  eldMax: number;
}

type ChildMessage =
  | { type: 'connected'; ready: number; failed: number; errors: string[]; connectMs: number }
  | { type: 'window-end' }
  | ChildResult
  | { type: 'stopped' };

// ---------------------------------------------------------------- child: the players

async function child(): Promise<void> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) throw new Error('no input on stdin');
  const input = JSON.parse(first.value as string) as ChildInput;
  const send = (m: ChildMessage) => process.stdout.write(JSON.stringify(m) + '\n');

  const fleet = new SimFleet({
    count: input.players.length,
    credentials: input.players,
    player: { heartbeatMs: input.heartbeatMs, requestTimeoutMs: input.timeoutMs, requestRetries: 0 },
    concurrency: input.connectConcurrency,
    staggerMs: input.staggerMs,
  });
  let inWindow = false;
  let heartbeats = 0;
  let closed = 0;
  for (const p of fleet.players) {
    p.on('status', (s) => {
      if (inWindow && s.status === 'online') heartbeats++;
    });
    p.on('close', () => {
      if (inWindow) closed++;
    });
  }

  const c0 = performance.now();
  const { ready, failed } = await fleet.start();
  const errors = [...new Set(failed.map((f) => f.error.message))].slice(0, 3);
  send({ type: 'connected', ready, failed: failed.length, errors, connectMs: performance.now() - c0 });

  // the window: one query_posts every requestMs per player, phases spread at random
  const latencies: number[] = [];
  const slices: number[][] = Array.from({ length: 10 }, () => []);
  const byCode: Record<string, number> = {};
  let requests = 0;
  let answers = 0;
  let timeouts = 0;
  let sendFailed = 0;
  const outstanding = new Set<Promise<void>>();
  const fire = (p: SimPlayer) => {
    requests++;
    const t0 = performance.now();
    const pending: Promise<void> = p.requestQueryPosts({ ...DEFAULT_QUERY }, { retries: 0 }).then(
      (reply) => {
        answers++;
        const latency = performance.now() - t0;
        latencies.push(latency);
        slices[Math.min(9, Math.floor(((t0 - w0) / (input.seconds * 1000)) * 10))].push(latency);
        const code = reply.success ? 'success' : reply.error_code;
        byCode[code] = (byCode[code] ?? 0) + 1;
      },
      (err: unknown) => {
        if (err instanceof RequestTimeoutError) timeouts++;
        else sendFailed++;
      },
    ).finally(() => outstanding.delete(pending));
    outstanding.add(pending);
  };
  const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  eld.enable();
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  inWindow = true;
  const jobs = fleet.players
    .filter((p) => p.connected)
    .map((p) => fleet.scheduler.every(input.requestMs, () => fire(p), { firstDelayMs: Math.random() * input.requestMs }));
  await sleep(input.seconds * 1000);
  inWindow = false;
  for (const j of jobs) j.cancel();
  const windowMs = performance.now() - w0;
  const cpu = process.cpuUsage(cpu0);
  eld.disable();
  send({ type: 'window-end' });
  // every outstanding request settles within timeoutMs (answer or RequestTimeoutError)
  await Promise.allSettled([...outstanding]);

  latencies.sort((a, b) => a - b);
  send({
    type: 'result', heartbeats, requests, answers, byCode, timeouts, sendFailed,
    p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies[latencies.length - 1] ?? NaN,
    sliceP99: slices.map((l) => percentile(l.sort((a, b) => a - b), 0.99)),
    closed, windowMs, cpuPercent: ((cpu.user + cpu.system) / 1000 / windowMs) * 100,
    eldP99: delayMs(eld.percentile(99)), eldMax: delayMs(eld.max),
  });
  // players stay connected (and heartbeating) until the parent has looked at the database
  await lines.next();
  await fleet.stop({ graceful: true });
  fleet.scheduler.stop();
  send({ type: 'stopped' });
}

/**
 * monitorEventLoopDelay (Node 20) records the whole interval between its samples, resolution
 * included: an idle loop reads ~1 ms at resolution 1. The delay is what exceeds the resolution.
 */
const ELD_RESOLUTION_MS = 1;
function delayMs(ns: number): number {
  return Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS);
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

// ---------------------------------------------------------------- parent: services, server, sampling

/** Reads the child's stdout as one JSON message a line; rejects when the child exits or a phase takes too long. */
class ChildLines {
  private readonly queue: ChildMessage[] = [];
  private waiter: { resolve: (m: ChildMessage) => void; reject: (e: Error) => void } | null = null;
  private ended: Error | null = null;

  constructor(proc: ChildProcess) {
    if (!proc.stdout) throw new Error('the player process has no stdout pipe');
    createInterface({ input: proc.stdout, crlfDelay: Infinity }).on('line', (line) => {
      let m: ChildMessage;
      try {
        m = JSON.parse(line) as ChildMessage;
      } catch {
        process.stderr.write(`[players] ${line}\n`);
        return;
      }
      if (this.waiter) {
        this.waiter.resolve(m);
        this.waiter = null;
      } else this.queue.push(m);
    });
    const end = (e: Error) => {
      this.ended ??= e;
      this.waiter?.reject(this.ended);
      this.waiter = null;
    };
    proc.on('error', (err) => end(new Error(`player process: ${err.message}`)));
    proc.on('exit', (code, signal) => end(new Error(`the player process exited early (code ${code}, signal ${signal}); see its stderr above`)));
  }

  async next<T extends ChildMessage['type']>(type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
    const queued = this.queue.shift();
    let timer: NodeJS.Timeout | undefined;
    const m = queued ?? await new Promise<ChildMessage>((resolve, reject) => {
      if (this.ended) return reject(this.ended);
      this.waiter = { resolve, reject };
      timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`the player process did not report '${type}' within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
    }).finally(() => clearTimeout(timer));
    if (m.type !== type) throw new Error(`the player process reported '${m.type}' where '${type}' was expected`);
    return m as Extract<ChildMessage, { type: T }>;
  }
}

/** Cleanup steps, run once, last added first; a failing step is reported and the others still run. */
class Cleanup {
  private readonly steps: { name: string; run: () => unknown }[] = [];
  private running: Promise<void> | null = null;

  add(name: string, run: () => unknown): void {
    this.steps.push({ name, run });
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const s of this.steps.reverse()) {
        try {
          await s.run();
        } catch (err) {
          console.error(`cleanup: ${s.name} failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    })();
    return this.running;
  }
}


/** One server instance: its own process, started from the bundle (as deployed code runs: no tsx in it). */
interface ServerProcess {
  index: number;
  pid: number;
  url: string;
  metricsUrl: string;
  log: string;
  /** Set once the process has exited (code, or 128 + n for signal n as a shell reports it). */
  exited: () => number | null;
  stop(): Promise<void>;
}

const SERVER_START_MS = 60_000;

async function startServerProcess(
  entry: string, i: number, env: Record<string, string>, logDir: string, nodeArgs: string[],
): Promise<ServerProcess> {
  const [httpPort, metricsPort] = await freePorts(2);
  const log = join(logDir, `server-${i + 1}.log`);
  const out = openSync(log, 'a');
  const proc = spawn(process.execPath, [...nodeArgs, entry], {
    cwd: logDir,
    env: { ...process.env, ...env, HTTP_PORT: String(httpPort), METRICS_PORT: String(metricsPort), MQTT_CLIENT_ID: `makapix-fleet-${i + 1}` },
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const pid = proc.pid;
  if (pid === undefined) throw new Error(`server instance ${i + 1} did not start`);
  let code: number | null = null;
  proc.once('exit', (c, signal) => { code = c ?? 128 + (signal ? osConstants.signals[signal] : 0); });
  const died = () => new Error(`server instance ${i + 1} exited (${code}); its log:\n${tail(log)}`);
  const stop = async () => { if (isAlive(pid)) await stopPid(pid, 10_000); };
  try {
    // it listens once its MQTT workers run; the metrics listener comes last
    for (const port of [httpPort, metricsPort]) {
      await waitForPort(port, { timeoutMs: SERVER_START_MS, check: () => { if (code !== null) throw died(); } });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { index: i, pid, url: `http://127.0.0.1:${httpPort}`, metricsUrl: `http://127.0.0.1:${metricsPort}${METRICS_PATH}`, log, exited: () => code, stop };
}

function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** What this report reads from one instance's Prometheus endpoint. */
interface Scrape {
  statusReceived: number;
  statusApplied: number;
  statusIgnored: number;
  statusFailed: number;
  requestsAnswered: number;
  /** prom-client's event-loop delay since the previous scrape (it resets its histogram on each scrape), seconds, resolution included. */
  eldP99: number;
  eldMax: number;
  heapUsed: number;
  /** V8's heap as committed (used or not) and the memory outside it that JS objects hold (Buffers and the like). */
  heapTotal: number;
  external: number;
  /** GC pauses so far: seconds and count, all kinds, and the major ones. */
  gcSeconds: number;
  gcCount: number;
  gcMajorSeconds: number;
  /** makapix_mqtt_request_duration_seconds (arrival of a request to the PUBACK of its answer), all request types: count per bucket bound `le_<seconds>`. */
  [bucket: `le_${string}`]: number;
}

/** prom-client's default event-loop monitor samples every 10 ms (collectDefaultMetrics' eventLoopMonitoringPrecision). */
const SERVER_ELD_RESOLUTION_MS = 10;

async function scrape(s: ServerProcess, timeoutMs = 10_000): Promise<Scrape> {
  const res = await fetch(s.metricsUrl, { signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 200) throw new Error(`${s.metricsUrl}: HTTP ${res.status}`);
  const e = parseExposition(await res.text());
  const one = (name: string) => {
    const found = samples(e, name);
    if (found.length === 0) throw new Error(`${s.metricsUrl} has no ${name}`);
    return total(e, name);
  };
  return {
    statusReceived: one('makapix_status_messages_total'),
    statusApplied: total(e, 'makapix_status_updates_total', { result: 'applied' }),
    statusIgnored: total(e, 'makapix_status_updates_total', { result: 'ignored' }),
    statusFailed: total(e, 'makapix_status_updates_total', { result: 'failed' }),
    requestsAnswered: one('makapix_mqtt_requests_total'),
    eldP99: one('nodejs_eventloop_lag_p99_seconds'),
    eldMax: one('nodejs_eventloop_lag_max_seconds'),
    heapUsed: one('nodejs_heap_size_used_bytes'),
    heapTotal: one('nodejs_heap_size_total_bytes'),
    external: one('nodejs_external_memory_bytes'),
    gcSeconds: total(e, 'nodejs_gc_duration_seconds_sum'),
    gcCount: total(e, 'nodejs_gc_duration_seconds_count'),
    gcMajorSeconds: total(e, 'nodejs_gc_duration_seconds_sum', { kind: 'major' }),
    ...Object.fromEntries([...new Set(samples(e, 'makapix_mqtt_request_duration_seconds_bucket').map((x) => x.labels.le!))]
      .map((le) => [`le_${le}`, total(e, 'makapix_mqtt_request_duration_seconds_bucket', { le })])),
  };
}

/** A quantile of the server's request durations between two scrapes, as the bound of the histogram bucket it falls in (ms). */
function serverQuantileMs(a: Scrape, b: Scrape, q: number): number {
  const bounds = Object.keys(b).filter((k) => k.startsWith('le_')).map((k) => k.slice(3)).map((le) => ({ le, bound: Number(le === '+Inf' ? Infinity : le) }))
    .sort((x, y) => x.bound - y.bound);
  const count = (le: string) => (b[`le_${le}`] ?? 0) - (a[`le_${le}`] ?? 0);
  const all = count('+Inf');
  if (all <= 0) return NaN;
  for (const { le, bound } of bounds) if (count(le) >= q * all) return bound * 1000;
  return Infinity;
}

/** The scraped event-loop delay in ms, less the monitor's sampling interval (an idle loop reads about that). */
const serverDelayMs = (seconds: number) => Math.max(0, seconds * 1000 - SERVER_ELD_RESOLUTION_MS);

/**
 * Writes a heap snapshot of a server process started with --heapsnapshot-signal=SIGUSR2 into its
 * --diagnostic-dir and waits until it is written (the process answers no request while it writes).
 */
async function heapSnapshot(s: ServerProcess, dir: string, label: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(s.pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000;
  let file: string | undefined;
  while (file === undefined) {
    if (Date.now() > deadline) throw new Error(`server instance ${s.index + 1} wrote no heap snapshot into ${dir} within 120 s`);
    await sleep(100);
    file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
  }
  // the file exists once writing has begun: a scrape is answered after the writing is done
  await scrape(s, Math.max(1000, deadline - Date.now()));
  const named = join(dir, `server-${s.index + 1}-${label}.heapsnapshot`);
  renameSync(join(dir, file), named);
  return named;
}

interface Phase { cpuS: number; wallS: number; broker: number | null; postgres: number | null }

/** CPU of the server processes (each), the broker and PostgreSQL in one phase (from `begin` to `end`), read from /proc. */
function phaseMeter(serverPids: number[], brokerPid: number, postgresPid: number | undefined) {
  const t0 = performance.now();
  const s0 = serverPids.map((pid) => treeCpuSeconds(pid));
  const b0 = treeCpuSeconds(brokerPid);
  const p0 = treeCpuSeconds(postgresPid);
  const diff = (a: number | null, b: number | null) => (a !== null && b !== null ? b - a : null);
  return (): Phase & { each: (number | null)[] } => {
    const wallS = (performance.now() - t0) / 1000;
    const each = serverPids.map((pid, i) => diff(s0[i] ?? null, treeCpuSeconds(pid)));
    return {
      cpuS: each.reduce<number>((a, x) => a + (x ?? NaN), 0), each, wallS,
      broker: diff(b0, treeCpuSeconds(brokerPid)),
      postgres: diff(p0, treeCpuSeconds(postgresPid)),
    };
  };
}

const mb = (n: number) => (Number.isFinite(n) ? `${Math.round(n / 1024 / 1024)} MB` : 'n/a');
const ms = (n: number) => (Number.isFinite(n) ? `${n < 10 ? n.toFixed(1) : Math.round(n)} ms` : 'n/a');
const pct = (cpuS: number | null, wallS: number) => (cpuS === null || !Number.isFinite(cpuS) ? 'n/a' : `${Math.round((cpuS / wallS) * 100)} %`);
const maxOf = (xs: number[]) => xs.reduce((a, x) => Math.max(a, x), -Infinity);

async function main(o: Options): Promise<void> {
  const cleanup = new Cleanup();
  const onSignal = (signal: string) => {
    console.error(`\n${signal}: stopping players, server and services`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  let failure: Error | null = null;
  try {
    const dataDir = mkdtempSync(join(tmpdir(), 'makapix-fleet-'));
    cleanup.add('remove the data directory', () => rmSync(dataDir, { recursive: true, force: true }));
    const [services, entry] = await Promise.all([startServices({ dataDir, forTests: true }), buildServerBundle()]);
    cleanup.add('stop broker and database', () => services.stop());
    // presence settings (PRESENCE_SWEEP_SECONDS, PRESENCE_TIMEOUT_SECONDS) stay at their defaults
    const env: Record<string, string> = {
      ...serverEnv(services), MAKAPIX_ENV: 'development', HTTP_HOST: '127.0.0.1', LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', LOG_FORMAT: 'json',
      DATABASE_POOL_MAX: '10', SCRYPT_N: '1024',
      RATE_LIMIT_PLAYER_PER_MINUTE: '1000000', RATE_LIMIT_USER_PER_MINUTE: '1000000', RATE_LIMIT_REGISTER_PLAYER_PER_MINUTE: '1000000', RATE_LIMIT_SIGNUP_PER_MINUTE: '1000000', RATE_LIMIT_PROVISION_PER_MINUTE: '1000000',
    };
    const logDir = join(dataDir, 'server-logs');
    mkdirSync(logDir, { recursive: true });
    const snapshotDir = o.heapSnapshots === null ? null : resolve(o.heapSnapshots);
    if (snapshotDir !== null) mkdirSync(snapshotDir, { recursive: true });
    const nodeArgs = [...o.serverNodeOptions, ...(snapshotDir === null ? [] : ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`])];
    const servers: ServerProcess[] = [];
    for (let i = 0; i < o.instances; i++) {
      const sv = await startServerProcess(entry, i, env, logDir, nodeArgs);
      cleanup.add(`stop server instance ${i + 1}`, () => sv.stop());
      servers.push(sv);
    }
    const serverPids = servers.map((sv) => sv.pid);
    // the servers' counters (summed over the instances, and each one's), read from their Prometheus endpoints
    const scrapeAll = () => Promise.all(servers.map((sv) => scrape(sv)));
    const sum = (all: Scrape[]) => {
      const out: Record<string, number> = {};
      for (const c of all) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
      return out as unknown as Scrape;
    };
    const api = createClient(servers[0]!.url);
    // the bench's own pool, for the look at the players table at the end
    const sql = createSql({ url: services.urls.database, max: 1, applicationName: 'makapix-fleet-bench' });
    cleanup.add('close the bench\'s database pool', () => sql.end({ timeout: 5 }));

    console.log(`fleet: ${o.players} players, heartbeat every ${o.heartbeatMs} ms, one query_posts every ${o.requestMs} ms per player, ${o.seconds} s window; ${servers.length} server process${servers.length > 1 ? 'es' : ''} (pid ${serverPids.join(', ')}${nodeArgs.length > 0 ? `; node ${nodeArgs.join(' ')}` : ''})`);
    // owners: a user may hold at most MAX_PLAYERS_PER_USER players
    const ownerCount = Math.ceil(o.players / MAX_PLAYERS_PER_USER);
    const tokens = await registerOwners(api, ownerCount, 'fleet');
    await pool(o.posts, 8, async (i) => {
      const r = await api.createPost({ body: { title: `Fleet ${i}`, art_url: `https://example.test/fleet/${i}.png`, canvas: '64x64', width: 64, height: 64 } }, { token: tokens[0] });
      if (r.status !== 201) throw new Error(`creating post ${i}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    });

    const p0 = performance.now();
    // CPU per provisioned player: the server process(es), this process (the REST client) and PostgreSQL
    const provisionServer0 = serverPids.map((pid) => treeCpuSeconds(pid));
    const provisionClient0 = process.cpuUsage();
    const provisionPg0 = treeCpuSeconds(services.database.postgres?.pid);
    let done = 0;
    const progress = setInterval(() => console.log(`  provisioning: ${done}/${o.players}`), 10_000);
    let players: SimCredentials[];
    try {
      players = await provisionPlayers(api, tokens, o.players, { concurrency: o.provisionConcurrency, prefix: 'fleet', progress: (d) => (done = d) });
    } finally {
      clearInterval(progress);
    }
    const provisionS = (performance.now() - p0) / 1000;
    const provisionClient = process.cpuUsage(provisionClient0);
    const provisionServerS = serverPids.reduce((a, pid, i) => a + ((treeCpuSeconds(pid) ?? NaN) - (provisionServer0[i] ?? NaN)), 0);
    const provisionPg1 = treeCpuSeconds(services.database.postgres?.pid);
    const provisionClientMs = (provisionClient.user + provisionClient.system) / 1000 / o.players;
    const provisionServerMs = (provisionServerS * 1000) / o.players;
    const provisionPgMs = provisionPg0 === null || provisionPg1 === null ? NaN : ((provisionPg1 - provisionPg0) * 1000) / o.players;
    console.log(`  provisioned ${o.players} players (${ownerCount} owners) in ${provisionS.toFixed(1)} s; connecting`);

    const rss = new RssSampler(serverPids);
    cleanup.add('stop sampling', () => rss.stop());
    const snapshots: string[] = [];
    if (snapshotDir !== null) {
      for (const sv of servers) snapshots.push(await heapSnapshot(sv, snapshotDir, '1-before-connect'));
    }

    // the players, in their own process
    const proc = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let childExited = false;
    const childExit = new Promise<void>((resolve) => proc.on('exit', () => { childExited = true; resolve(); }));
    cleanup.add('stop the player process', async () => {
      if (childExited) return;
      proc.kill('SIGTERM');
      await Promise.race([childExit, sleep(5000)]);
      if (!childExited) proc.kill('SIGKILL');
    });
    const lines = new ChildLines(proc);
    proc.stdin.on('error', () => undefined); // a dead child is reported by ChildLines
    const input: ChildInput = {
      players, seconds: o.seconds, heartbeatMs: o.heartbeatMs, requestMs: o.requestMs, timeoutMs: o.timeoutMs,
      connectConcurrency: o.connectConcurrency, staggerMs: o.staggerMs,
    };
    proc.stdin.write(JSON.stringify(input) + '\n');

    const brokerPid = services.broker.pid;
    const postgresPid = services.database.postgres?.pid;

    await scrapeAll(); // resets the servers' event-loop histograms: the next scrape covers the connect phase
    const endConnect = phaseMeter(serverPids, brokerPid, postgresPid);
    const connected = await lines.next('connected', Math.max(120_000, o.players * 100));
    const connectPhase = endConnect();
    if (connected.ready === 0) throw new Error(`no player could connect: ${connected.errors.join('; ')}`);
    const each0 = await scrapeAll();
    const memStart = rss.take();
    const endWindow = phaseMeter(serverPids, brokerPid, postgresPid);
    await lines.next('window-end', o.seconds * 1000 + 60_000);
    const windowPhase = endWindow();
    const memEnd = rss.take();
    const each1 = await scrapeAll();
    rss.stop();
    const result = await lines.next('result', o.timeoutMs + 60_000);
    const dead = servers.filter((sv) => sv.exited() !== null);
    if (dead.length > 0) throw new Error(`server instance ${dead[0]!.index + 1} exited (${dead[0]!.exited()}) during the run; its log:\n${tail(dead[0]!.log)}`);
    if (snapshotDir !== null) {
      for (const sv of servers) snapshots.push(await heapSnapshot(sv, snapshotDir, '2-window-end'));
    }

    // who the database thinks is there (players are still connected and heartbeating)
    const freshSeconds = (2 * o.heartbeatMs) / 1000;
    const [db] = await sql<{ registered: number; online: number; fresh: number; oldest: number | null }[]>`
      select count(*) filter (where registration_status = 'registered')::int as registered,
             count(*) filter (where connection_status = 'online')::int as online,
             count(*) filter (where connection_status = 'online'
                                and last_seen_at > now() - make_interval(secs => ${freshSeconds}))::int as fresh,
             extract(epoch from max(now() - last_seen_at) filter (where connection_status = 'online'))::float8 as oldest
      from players`;

    proc.stdin.end('disconnect\n');
    await lines.next('stopped', 120_000);
    await childExit;

    // ---- summary
    const metrics0 = sum(each0);
    const metrics1 = sum(each1);
    const delta = (name: keyof Scrape) => metrics1[name] - metrics0[name];
    const peaks = rss.peaks();
    const rssAt = (m: ({ rss: number; anon: number } | null)[], k: 'rss' | 'anon') => m.map((x) => x?.[k] ?? NaN);
    const list = (xs: number[], f: (x: number) => string) => xs.map(f).join(' + ');
    const w = windowPhase.wallS;
    const eldP99 = maxOf(each1.map((m) => serverDelayMs(m.eldP99)));
    const eldMax = maxOf(each1.map((m) => serverDelayMs(m.eldMax)));
    const serverP50 = serverQuantileMs(metrics0, metrics1, 0.5);
    const serverP99 = serverQuantileMs(metrics0, metrics1, 0.99);
    const instanceNote = servers.length > 1 ? ' (the worst instance)' : '';
    const rows: [string, string][] = [
      ['provisioning (REST)', `${o.players} players in ${provisionS.toFixed(1)} s (${Math.round(o.players / provisionS)}/s, ${o.provisionConcurrency} at a time); CPU per player ${provisionServerMs.toFixed(2)} ms server, ${provisionClientMs.toFixed(2)} ms REST client (the bench), ${provisionPgMs.toFixed(2)} ms PostgreSQL`],
      ['connect (mTLS)', `${connected.ready}/${o.players} in ${(connected.connectMs / 1000).toFixed(1)} s (${o.connectConcurrency} at a time, ${o.staggerMs} ms apart)${connected.failed ? `; ${connected.failed} failed: ${connected.errors.join('; ')}` : ''}`],
      ['  server during connect', `event loop p99 ${ms(maxOf(each0.map((m) => serverDelayMs(m.eldP99))))} max ${ms(maxOf(each0.map((m) => serverDelayMs(m.eldMax))))}${instanceNote}; CPU ${pct(connectPhase.cpuS, connectPhase.wallS)}`],
      [`window (${w.toFixed(1)} s)`, ''],
      ['  heartbeats sent', `${result.heartbeats} (${Math.round(result.heartbeats / w)}/s)`],
      ['  statuses received / applied', `${delta('statusReceived')} / ${delta('statusApplied')} (server counters; ignored ${delta('statusIgnored')}, write failed ${delta('statusFailed')})`],
      ['  requests sent / answered', `${result.requests} / ${result.answers} (${Math.round(result.answers / w)}/s; timed out ${result.timeouts}, not sent ${result.sendFailed})`],
      ['  server requests answered', `${delta('requestsAnswered')}`],
      ['  answers by code', Object.entries(result.byCode).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'],
      ['  request latency', `p50 ${ms(result.p50)}  p99 ${ms(result.p99)}  max ${ms(result.max)} (at the players)`],
      ['  server request duration', `p50 <= ${ms(serverP50)}  p99 <= ${ms(serverP99)} (arrival to PUBACK of the answer: the server's histogram buckets)`],
      ['  latency p99 by tenth', result.sliceP99.map((v) => (Number.isFinite(v) ? String(Math.round(v)) : '-')).join(' ') + ' ms'],
      ['  server event loop delay', `p99 ${ms(eldP99)}  max ${ms(eldMax)}${instanceNote} (prom-client's monitor, ${SERVER_ELD_RESOLUTION_MS} ms sampling)`],
      ['  server GC', `${Math.round(delta('gcSeconds') * 1000)} ms in ${delta('gcCount')} pauses (${pct(delta('gcSeconds'), w)} of the window; major ${Math.round(delta('gcMajorSeconds') * 1000)} ms)`],
      ['  server CPU', `${pct(windowPhase.cpuS, w)} of one core${servers.length > 1 ? ` (${windowPhase.each.map((c) => pct(c, w)).join(' + ')})` : ''}`],
      ['  server RSS', `${list(rssAt(memStart, 'rss'), mb)} -> ${list(rssAt(memEnd, 'rss'), mb)} (peak ${list(peaks, mb)}; anonymous ${list(rssAt(memEnd, 'anon'), mb)} at the end)`],
      ['  server heap used', `${list(each0.map((m) => m.heapUsed), mb)} -> ${list(each1.map((m) => m.heapUsed), mb)} (V8 heap committed ${list(each0.map((m) => m.heapTotal), mb)} -> ${list(each1.map((m) => m.heapTotal), mb)}; external ${list(each1.map((m) => m.external), mb)} at the end)`],
      ['  broker / postgres CPU', `${pct(windowPhase.broker, w)} / ${pct(windowPhase.postgres, w)}`],
      ['  player process', `CPU ${Math.round(result.cpuPercent)} %, event loop p99 ${ms(result.eldP99)} max ${ms(result.eldMax)}; connections lost ${result.closed}`],
      ...(servers.length > 1 ? servers.map((_, i): [string, string] => {
        const d = (k: keyof Scrape) => (each1[i]?.[k] ?? 0) - (each0[i]?.[k] ?? 0);
        return [`  instance ${i + 1} of ${servers.length}`, `requests answered ${d('requestsAnswered')} (${pct(d('requestsAnswered'), delta('requestsAnswered'))}), statuses received ${d('statusReceived')} (${pct(d('statusReceived'), delta('statusReceived'))})`];
      }) : []),
      ['database after the window', `online ${db!.online}/${db!.registered}, seen within ${freshSeconds} s: ${db!.fresh}; oldest online last_seen ${db!.oldest === null ? 'n/a' : `${db!.oldest.toFixed(1)} s`} ago`],
      ...(snapshots.length > 0 ? [['heap snapshots', snapshots.join(', ')] as [string, string]] : []),
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log('');
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
    if (snapshots.length > 0) console.log('(with --heap-snapshots the RSS peak includes writing the snapshots: measure memory without it)');
    writeBenchResult({
      players: o.players, heartbeatMs: o.heartbeatMs, requestMs: o.requestMs, windowS: w,
      provisionPerS: o.players / provisionS,
      // client + server, as before the server had its own process; each part beside it
      provisionCpuMsPerPlayer: provisionServerMs + provisionClientMs, provisionServerCpuMsPerPlayer: provisionServerMs, provisionClientCpuMsPerPlayer: provisionClientMs,
      provisionPgCpuMsPerPlayer: provisionPgMs, connected: connected.ready,
      heartbeatsSentPerS: result.heartbeats / w, statusesPerS: delta('statusReceived') / w, statusesAppliedPerS: delta('statusApplied') / w, statusesFailed: delta('statusFailed'),
      requestsPerS: result.answers / w, timeouts: result.timeouts, p50Ms: result.p50, p99Ms: result.p99, serverP99Ms: serverP99,
      // the largest server process (the target is per process)
      rssEndMb: maxOf(rssAt(memEnd, 'rss')) / 2 ** 20, rssPeakMb: maxOf(peaks) / 2 ** 20, rssAnonEndMb: maxOf(rssAt(memEnd, 'anon')) / 2 ** 20,
      serverCpuPct: (100 * windowPhase.cpuS) / w, serverEldP99Ms: eldP99, serverGcMs: delta('gcSeconds') * 1000,
      instances: servers.length,
      split: servers.map((_, i) => ({ requestsAnswered: (each1[i]?.requestsAnswered ?? 0) - (each0[i]?.requestsAnswered ?? 0), statusesReceived: (each1[i]?.statusReceived ?? 0) - (each0[i]?.statusReceived ?? 0) })),
      online: db!.online, registered: db!.registered, fresh: db!.fresh, freshWithinS: freshSeconds, oldestOnlineS: db!.oldest,
    });
    if (connected.ready < o.players) {
      failure = new Error(`only ${connected.ready} of ${o.players} players connected (${connected.errors.join('; ')})`);
    }
  } finally {
    await cleanup.run();
  }
  if (failure) throw failure;
}

// ---------------------------------------------------------------- entry

const isChild = process.argv.includes('--child');
let run: () => Promise<void>;
if (isChild) {
  run = child;
} else {
  let o: Options | null = null;
  run = async () => {
    try {
      o = options(process.argv.slice(2).filter((a) => a !== '--help' && a !== '-h'));
    } catch (err) {
      if (err instanceof UsageError) {
        console.error(`${err.message}\n${USAGE}`);
        process.exit(2);
      }
      throw err;
    }
    if (process.argv.includes('--help') || process.argv.includes('-h')) {
      console.log(USAGE);
      return;
    }
    await main(o);
  };
}
run().then(() => process.exit(0), (err: unknown) => {
  const what = isChild ? 'fleet bench player process failed' : 'fleet bench failed';
  console.error(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  if (err instanceof Error && err.stack && process.env.DEBUG) console.error(err.stack);
  process.exit(1);
});
