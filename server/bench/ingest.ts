// Benchmark: player status ingest by ONE server instance, with a load generator light enough to
// offer more than the fleet simulator can (which validates and schedules every heartbeat like a
// device, and tops out at a few thousand statuses/s on 2 cores).
//   1. starts its own broker + database and one server in this process;
//   2. provisions --players players through the REST API (the p3a flow);
//   3. --processes CHILD processes connect the players over mTLS and publish a prepared status
//      (QoS 1, the channel's) at --rate statuses/s in all, round robin over the players, at most
//      --inflight unacknowledged per player, for --seconds;
//   4. meanwhile this process reads the server's counters and, every 250 ms, how long ago the
//      stalest player's state was written (players.last_seen_at): with every player sending
//      several statuses a second, that age is how far the durable state trails the messages.
// Beside the rates: CPU seconds of the server (this process), the broker and PostgreSQL per second
// of the window, and the generator's own CPU. Prints numbers; asserts nothing.
//   npx tsx server/bench/ingest.ts [--players 1000] [--rate 20000] [--seconds 10] [--processes 2] [--inflight 20]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { playerStatus, playerStatusTopic } from '@makapix/contract/asyncapi/channels';
import type { PlayerStatus } from '@makapix/contract/asyncapi/schemas';
import { createClient } from '@makapix/contract/openapi/client';
import { freePort, serverEnv, startServices } from '../devenv/index.js';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/main.js';
import { MAX_PLAYERS_PER_USER } from '../src/rest/players.js';
import { pool, provisionPlayers, registerOwners, treeCpuSeconds, writeBenchResult, type ProvisionedPlayer } from './support.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer (got ${process.argv[i + 1]})\nusage: npx tsx server/bench/ingest.ts [--players 1000] [--rate 20000] [--seconds 10] [--processes 2] [--inflight 20]`);
  return v;
}

// ---------------------------------------------------------------- the generator (child process)

interface ChildInput { mtlsUrl: string; players: ProvisionedPlayer[]; rate: number; seconds: number; inflight: number }
interface ChildResult { sent: number; acked: number; cpuUs: number; stalls: number }

async function child(): Promise<void> {
  // stdin: the input as one JSON line, then "go" once the parent wants the sending to start
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) throw new Error('no input on stdin');
  const input = JSON.parse(first.value) as ChildInput;
  const clients: MqttClient[] = await pool(input.players.length, 32, (i) => {
    const p = input.players[i]!;
    return mqtt.connectAsync(input.mtlsUrl, { protocolVersion: 5, ca: p.ca_pem, cert: p.cert_pem, key: p.key_pem, reconnectPeriod: 0, clientId: `ingest-${p.player_key}` });
  });
  // each player's status, checked against the channel once and serialized once
  const prepared = input.players.map((p) => {
    const status: PlayerStatus = { player_key: p.player_key, status: 'online', current_post_id: null };
    if (!playerStatus.message.check(status)) throw new Error(`status payload: ${playerStatus.message.explain(status)}`);
    return { topic: playerStatusTopic.format({ player_key: p.player_key }), bytes: Buffer.from(JSON.stringify(status)) };
  });
  process.stdout.write('ready\n');
  await lines.next();

  const cpu0 = process.cpuUsage();
  const outstanding = new Array<number>(clients.length).fill(0);
  let sent = 0;
  let acked = 0;
  let stalls = 0; // a player passed over because it had --inflight unacknowledged
  let next = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const elapsed = (performance.now() - t0) / 1000;
      if (elapsed >= input.seconds) {
        clearInterval(tick);
        resolve();
        return;
      }
      const due = Math.floor(input.rate * elapsed) - sent - stalls;
      for (let k = 0; k < due; k++) {
        const i = next;
        next = (next + 1) % clients.length;
        if (outstanding[i]! >= input.inflight) {
          stalls++;
          continue;
        }
        outstanding[i]!++;
        sent++;
        clients[i]!.publish(prepared[i]!.topic, prepared[i]!.bytes, { qos: playerStatus.qos }, () => {
          outstanding[i]!--;
          acked++;
        });
      }
    }, 5);
  });
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(clients.map((c) => c.endAsync().catch(() => {})));
  const result: ChildResult = { sent, acked, cpuUs: cpu.user + cpu.system, stalls };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

// ---------------------------------------------------------------- the run

async function main(): Promise<void> {
  const PLAYERS = arg('players', 1000);
  const RATE = arg('rate', 20_000);
  const SECONDS = arg('seconds', 10);
  const PROCESSES = arg('processes', 2);
  const INFLIGHT = arg('inflight', 20);
  const dataDir = mkdtempSync(join(tmpdir(), 'makapix-bench-ingest-'));
  const services = await startServices({ dataDir, forTests: true });
  const children: ChildProcess[] = [];
  try {
    const server = await startServer(loadConfig({
      ...serverEnv(services), HTTP_PORT: '0', SCRYPT_N: '1024', METRICS_PORT: String(await freePort()),
      RATE_LIMIT_PROVISION_PER_MINUTE: '100000', RATE_LIMIT_REGISTER_PLAYER_PER_MINUTE: '1000000', RATE_LIMIT_SIGNUP_PER_MINUTE: '1000000',
    }), { log: pino({ level: 'warn' }) });
    const api = createClient(server.url);
    console.log(`status ingest: ${PLAYERS} players, ${RATE} statuses/s offered by ${PROCESSES} processes, ${SECONDS} s, at most ${INFLIGHT} unacknowledged per player`);
    const owners = await registerOwners(api, Math.ceil(PLAYERS / MAX_PLAYERS_PER_USER), 'ingest');
    const players = await provisionPlayers(api, owners, PLAYERS, { concurrency: 16, prefix: 'ingest' });

    // the generators: each its share of the players and of the rate
    const results: Promise<ChildResult>[] = [];
    const ready: Promise<void>[] = [];
    for (let k = 0; k < PROCESSES; k++) {
      const mine = players.filter((_, i) => i % PROCESSES === k);
      const proc = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child'], { stdio: ['pipe', 'pipe', 'inherit'] });
      children.push(proc);
      const lines = createInterface({ input: proc.stdout! });
      let readyResolve!: () => void;
      ready.push(new Promise<void>((r) => (readyResolve = r)));
      results.push(new Promise<ChildResult>((resolve, reject) => {
        lines.on('line', (line) => {
          if (line === 'ready') readyResolve();
          else if (line.startsWith('{')) resolve(JSON.parse(line) as ChildResult);
        });
        proc.on('exit', (code) => reject(new Error(`generator ${k} exited with ${code} before its result`)));
      }));
      const input: ChildInput = { mtlsUrl: services.urls.mqttMtls, players: mine, rate: Math.round(RATE / PROCESSES), seconds: SECONDS, inflight: INFLIGHT };
      proc.stdin!.write(`${JSON.stringify(input)}\n`);
    }
    await Promise.all(ready);
    console.log(`  ${PLAYERS} players connected; sending`);

    const sql = server.ctx.sql;
    const counter = (name: string, labels?: Record<string, string>) => server.ctx.metrics.value(name, labels);
    const received0 = await counter('makapix_status_messages_total');
    const applied0 = await counter('makapix_status_updates_total', { result: 'applied' });
    const cpu0 = process.cpuUsage();
    const broker0 = treeCpuSeconds(services.broker.pid);
    const pg0 = treeCpuSeconds(services.database.postgres?.pid);
    const t0 = performance.now();
    for (const c of children) c.stdin!.write('go\n');

    // the stalest player's state, every 250 ms after the first second (every player has sent by then)
    const stalest: number[] = [];
    const sampler = (async () => {
      while (performance.now() - t0 < SECONDS * 1000 - 250) {
        await new Promise((r) => setTimeout(r, 250));
        if (performance.now() - t0 < 1000) continue;
        const [row] = await sql<{ age: number | null }[]>`
          select extract(epoch from now() - min(last_seen_at))::float8 as age from players where registration_status = 'registered'`;
        if (row?.age !== null && row?.age !== undefined) stalest.push(row.age);
      }
    })();
    const sent = await Promise.all(results);
    const windowS = (performance.now() - t0) / 1000;
    await sampler;
    const cpu = process.cpuUsage(cpu0);
    const broker1 = treeCpuSeconds(services.broker.pid);
    const pg1 = treeCpuSeconds(services.database.postgres?.pid);
    const received = (await counter('makapix_status_messages_total')) - received0;
    const applied = (await counter('makapix_status_updates_total', { result: 'applied' })) - applied0;
    const total = sent.reduce((a, r) => ({ sent: a.sent + r.sent, acked: a.acked + r.acked, cpuUs: a.cpuUs + r.cpuUs, stalls: a.stalls + r.stalls }), { sent: 0, acked: 0, cpuUs: 0, stalls: 0 });
    stalest.sort((a, b) => a - b);
    const pct = (xs: number[], q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN;
    const perS = (x: number) => Math.round(x / windowS);
    const cpuShare = (s: number | null) => (s === null ? NaN : (100 * s) / windowS);
    const serverCpuS = (cpu.user + cpu.system) / 1e6;
    const out = {
      players: PLAYERS, offered: RATE, seconds: windowS,
      sentPerS: perS(total.sent), ackedPerS: perS(total.acked), receivedPerS: perS(received), rowsWrittenPerS: perS(applied),
      stalls: total.stalls,
      stalestMedianS: pct(stalest, 0.5), stalestMaxS: stalest.at(-1) ?? NaN,
      serverCpuPct: cpuShare(serverCpuS), serverCpuUsPerStatus: received > 0 ? (serverCpuS * 1e6) / received : NaN,
      brokerCpuPct: cpuShare(broker0 === null || broker1 === null ? null : broker1 - broker0),
      postgresCpuPct: cpuShare(pg0 === null || pg1 === null ? null : pg1 - pg0),
      generatorCpuPct: (100 * total.cpuUs) / 1e6 / windowS,
    };
    console.log([
      `  offered ${RATE}/s; the generators sent ${out.sentPerS}/s (acknowledged by the broker ${out.ackedPerS}/s; ${total.stalls} sends passed over at the in-flight cap)`,
      `  server received ${out.receivedPerS} statuses/s; player rows written ${out.rowsWrittenPerS}/s (one per player per batch)`,
      `  stalest player's durable state: median ${out.stalestMedianS.toFixed(2)} s, max ${out.stalestMaxS.toFixed(2)} s behind (${stalest.length} samples)`,
      `  CPU: server ${out.serverCpuPct.toFixed(0)} % of a core (${out.serverCpuUsPerStatus.toFixed(1)} µs per status), broker ${out.brokerCpuPct.toFixed(0)} %, PostgreSQL ${out.postgresCpuPct.toFixed(0)} %, generators ${out.generatorCpuPct.toFixed(0)} %`,
    ].join('\n'));
    writeBenchResult(out);
    await server.stop();
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await services.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

(process.argv.includes('--child') ? child() : main()).then(() => process.exit(0), (err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
