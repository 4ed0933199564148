// Benchmark: request/response round trips per second through the same Mosquitto over mTLS,
//   1. against a raw echo responder (the broker's ceiling on this machine), and
//   2. against the Makapix server answering query_posts (a real read with validation, auth,
//      rate limiting and idempotency): every player asking for the same first page, then every
//      request a different query (so that no two reads can share a statement);
//   3. the same first page again at half the rate measured in 2, sent at a steady pace (open loop):
//      the latency a server that is not saturated gives.
// Beside each run: the responder's CPU per round trip and PostgreSQL's (postmaster and backends).
// Prints numbers; asserts nothing. Starts its own broker, database and server on free ports; the
// players run in a child process so that they do not take the server's CPU.
// --metrics off runs the server with METRICS_PORT=0 (no metrics kept): compare with the default (on)
// for the cost of the metric updates on the request path.
// --repeat N: echo and server take N turns; the figures are the medians over the turns.
// --cpu-prof DIR: writes a V8 CPU profile of this process (the responder) for each run into DIR
// (<turn>-<mode>.cpuprofile; open in Chrome DevTools), covering only the measured seconds.
//   npx tsx server/bench/round-trip.ts [--players 32] [--inflight 4] [--seconds 5] [--repeat 1] [--metrics on|off] [--cpu-prof DIR]
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { playerRequestTopic, playerResponseTopic } from '@makapix/contract/asyncapi/channels';
import { createClient } from '@makapix/contract/openapi/client';
import { freePort, serverEnv, startServices } from '../devenv/index.js';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/main.js';
import { treeCpuSeconds, writeBenchResult } from './support.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const PLAYERS = arg('players', 32);
const INFLIGHT = arg('inflight', 4);
const SECONDS = arg('seconds', 5);
const REPEAT = arg('repeat', 1);
const CPU_PROF_DIR = process.argv.includes('--cpu-prof') ? process.argv[process.argv.indexOf('--cpu-prof') + 1] : undefined;
let profiled = 0;
const METRICS = process.argv.includes('--metrics') ? process.argv[process.argv.indexOf('--metrics') + 1] !== 'off' : true;

interface Player { key: string; cert: string; key_pem: string; ca: string }

async function connectPlayers(mtlsUrl: string, players: Player[]): Promise<MqttClient[]> {
  const clients = await Promise.all(players.map((p) => mqtt.connectAsync(mtlsUrl, {
    protocolVersion: 5, ca: p.ca, cert: p.cert, key: p.key_pem, reconnectPeriod: 0, clientId: `bench-${p.key}`,
  })));
  for (const c of clients) noDelay(c);
  return clients;
}

/** Nagle off on the client's socket (a device would do the same; otherwise each answer waits for a delayed ACK). */
function noDelay(c: MqttClient): void {
  (c.stream as unknown as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
}

/** Each player keeps INFLIGHT requests outstanding for SECONDS; returns round trips/s and latency percentiles. */
interface DriveResult { rate: number; count: number; p50: number; p99: number; errors: number; playersCpuUs?: number }

/** `paceRate` > 0: each player sends at a fixed pace (total paceRate per second) instead of keeping INFLIGHT outstanding. */
async function drive(clients: MqttClient[], players: Player[], payloadFor: (key: string, requestId: string) => string, paceRate = 0): Promise<DriveResult> {
  const latencies: number[] = [];
  let errors = 0;
  let running = true;
  await Promise.all(clients.map((c, i) => c.subscribeAsync(playerResponseTopic.filterRest({ player_key: players[i].key }), { qos: 1 })));
  const start = performance.now();
  await Promise.all(clients.map((c, i) => new Promise<void>((resolve) => {
    const key = players[i].key;
    const sent = new Map<string, number>();
    let outstanding = 0;
    const send = () => {
      if (!running) {
        if (outstanding === 0) resolve();
        return;
      }
      const id = randomUUID().replace(/-/g, '');
      sent.set(id, performance.now());
      outstanding++;
      c.publish(playerRequestTopic.format({ player_key: key, request_id: id }), payloadFor(key, id), { qos: 1 });
    };
    c.on('message', (topic, buf) => {
      const p = playerResponseTopic.parse(topic);
      if (!p) return;
      const t0 = sent.get(p.request_id);
      if (t0 === undefined) return;
      sent.delete(p.request_id);
      outstanding--;
      latencies.push(performance.now() - t0);
      if (!(JSON.parse(buf.toString()) as { success?: boolean }).success) errors++;
      send();
    });
    if (paceRate > 0) {
      // open loop: one request every PLAYERS / paceRate seconds per player, whatever is outstanding
      const everyMs = (1000 * clients.length) / paceRate;
      const timer = setInterval(() => {
        if (!running) {
          clearInterval(timer);
          if (outstanding === 0) resolve();
          return;
        }
        const id = randomUUID().replace(/-/g, '');
        sent.set(id, performance.now());
        outstanding++;
        c.publish(playerRequestTopic.format({ player_key: key, request_id: id }), payloadFor(key, id), { qos: 1 });
      }, everyMs);
      c.removeAllListeners('message');
      c.on('message', (topic, buf) => {
        const p = playerResponseTopic.parse(topic);
        if (!p) return;
        const t0 = sent.get(p.request_id);
        if (t0 === undefined) return;
        sent.delete(p.request_id);
        outstanding--;
        latencies.push(performance.now() - t0);
        if (!(JSON.parse(buf.toString()) as { success?: boolean }).success) errors++;
        if (!running && outstanding === 0) resolve();
      });
      return;
    }
    for (let k = 0; k < INFLIGHT; k++) send();
  })).concat([new Promise<void>((r) => setTimeout(() => { running = false; r(); }, SECONDS * 1000))]));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { rate: latencies.length / elapsed, count: latencies.length, p50: pct(0.5), p99: pct(0.99), errors };
}

/** Runs the players in a child process, so the server under test does not share its CPU with them. */
/** Also measures the CPU time this process (the responder: echo or server) spent per round trip. */
/** And PostgreSQL's CPU per round trip (postgresPid: the postmaster, whose children are the backends). */
/** And the broker's and the players' CPU per round trip (on 2 cores all of them share the same CPUs). */
let brokerPid: number | undefined;
async function driveInChild(mtlsUrl: string, players: Player[], mode: 'echo' | 'query_posts' | 'query_posts_distinct', postgresPid?: number, paceRate = 0): Promise<DriveResult & { cpuUsPerRoundTrip: number; pgCpuUsPerRoundTrip: number; brokerCpuUsPerRoundTrip: number; playersCpuUsPerRoundTrip: number }> {
  let session: Session | undefined;
  if (CPU_PROF_DIR !== undefined) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const cpu0 = process.cpuUsage();
  const pg0 = treeCpuSeconds(postgresPid);
  const broker0 = treeCpuSeconds(brokerPid);
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(import.meta.url).pathname, '--child', mode,
    '--players', String(PLAYERS), '--inflight', String(INFLIGHT), '--seconds', String(SECONDS), '--pace', String(paceRate)], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(JSON.stringify({ mtlsUrl, players }));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  if (code !== 0) throw new Error(`player process exited with ${code}`);
  const cpu = process.cpuUsage(cpu0);
  const pg1 = treeCpuSeconds(postgresPid);
  const broker1 = treeCpuSeconds(brokerPid);
  if (session !== undefined && CPU_PROF_DIR !== undefined) {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    mkdirSync(CPU_PROF_DIR, { recursive: true });
    profiled += 1;
    writeFileSync(join(CPU_PROF_DIR, `${profiled}-${mode}${paceRate > 0 ? '-paced' : ''}.cpuprofile`), JSON.stringify(profile));
  }
  const result = JSON.parse(out.trim().split('\n').pop()!) as DriveResult;
  const pgCpuUsPerRoundTrip = pg0 === null || pg1 === null ? NaN : ((pg1 - pg0) * 1e6) / Math.max(1, result.count);
  const n = Math.max(1, result.count);
  return {
    ...result, cpuUsPerRoundTrip: (cpu.user + cpu.system) / n, pgCpuUsPerRoundTrip,
    brokerCpuUsPerRoundTrip: broker0 === null || broker1 === null ? NaN : ((broker1 - broker0) * 1e6) / n,
    playersCpuUsPerRoundTrip: (result.playersCpuUs ?? NaN) / n,
  };
}

async function child(mode: string): Promise<void> {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const { mtlsUrl, players } = JSON.parse(input) as { mtlsUrl: string; players: Player[] };
  const clients = await connectPlayers(mtlsUrl, players);
  const cpu0 = process.cpuUsage();
  const result = await drive(clients, players, mode === 'echo'
    ? (key, id) => JSON.stringify({ request_id: id, request_type: 'echo', player_key: key, success: true })
    : mode === 'query_posts'
      ? (key, id) => JSON.stringify({ request_id: id, request_type: 'query_posts', player_key: key, limit: 10 })
      // a different query each time (a random order with its own seed): no two reads can be shared
      : (key, id) => JSON.stringify({ request_id: id, request_type: 'query_posts', player_key: key, limit: 10, sort: 'random', random_seed: Math.floor(Math.random() * 2 ** 32) }),
    arg('pace', 0));
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(clients.map((c) => c.endAsync()));
  process.stdout.write(JSON.stringify({ ...result, playersCpuUs: cpu.user + cpu.system }) + '\n');
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'makapix-bench-'));
  const services = await startServices({ dataDir, forTests: true });
  const log = pino({ level: 'warn' });
  try {
    const server = await startServer(loadConfig({
      ...serverEnv(services), HTTP_PORT: '0', DATABASE_POOL_MAX: '10', SCRYPT_N: '1024', METRICS_PORT: METRICS ? String(await freePort()) : '0',
      RATE_LIMIT_PLAYER_PER_MINUTE: '1000000', RATE_LIMIT_USER_PER_MINUTE: '1000000', RATE_LIMIT_REGISTER_PLAYER_PER_MINUTE: '1000000', RATE_LIMIT_SIGNUP_PER_MINUTE: '1000000', RATE_LIMIT_PROVISION_PER_MINUTE: '100000',
    }), { log });
    const api = createClient(server.url);
    // players registered through the REST API, each with its issued certificate
    const owner = await api.authRegister({ body: { handle: 'bench', email: 'bench@example.test', password: 'bench bench bench' } });
    if (owner.status !== 201) throw new Error(`register: ${owner.status} ${JSON.stringify(owner.body)}`);
    for (let i = 0; i < 20; i++) {
      await api.createPost({ body: { title: `Bench ${i}`, art_url: `https://example.test/${i}.png`, canvas: '64x64', width: 64, height: 64 } }, { token: owner.body.token });
    }
    const players: Player[] = [];
    for (let i = 0; i < PLAYERS; i++) {
      const p = await api.provisionPlayer({ body: {} });
      if (p.status !== 201) throw new Error(`provision: ${p.status} ${JSON.stringify(p.body)}`);
      const r = await api.registerPlayer({ body: { registration_code: p.body.registration_code, name: `bench ${i}` } }, { token: owner.body.token });
      if (r.status !== 201) throw new Error(`register player: ${r.status} ${JSON.stringify(r.body)}`);
      const c = await api.getPlayerCredentials({ params: { player_key: p.body.player_key } });
      if (c.status !== 200) throw new Error(`credentials: ${c.status}`);
      if (c.body.key_pem === undefined) throw new Error('credentials: no key_pem for a player provisioned without csr_pem');
      players.push({ key: p.body.player_key, cert: c.body.cert_pem, key_pem: c.body.key_pem, ca: c.body.ca_pem });
    }
    console.log(`round trips over mTLS: ${PLAYERS} players x ${INFLIGHT} in flight, ${SECONDS} s each run, server metrics ${METRICS ? 'on' : 'off (METRICS_PORT=0)'}`);

    // the raw echo through the same broker (the ceiling) and the server take turns, REPEAT times:
    // each ratio compares runs a few seconds apart, and the medians hold on a busy machine
    const echo = await mqtt.connectAsync(services.urls.mqttInternal, {
      protocolVersion: 5, username: services.serverAccount.username, password: services.serverAccount.password, reconnectPeriod: 0,
    });
    noDelay(echo);
    echo.on('message', (topic, buf) => {
      const p = playerRequestTopic.parse(topic);
      if (p) echo.publish(playerResponseTopic.format(p), buf, { qos: 1 });
    });
    await server.stop();
    const postgresPid = services.database.postgres?.pid;
    brokerPid = services.broker.pid;
    const others = (r: Run) => `broker CPU ${r.brokerCpuUsPerRoundTrip.toFixed(0)} us, players CPU ${r.playersCpuUsPerRoundTrip.toFixed(0)} us per round trip`;
    type Run = Awaited<ReturnType<typeof driveInChild>>;
    const reps: { raw: Run; srv: Run & { dbTxPerRoundTrip: number }; dist: Run & { dbTxPerRoundTrip: number }; paced: Run & { offered: number; eventLoopP99Ms: number; eventLoopMaxMs: number }; pacedEcho: Run }[] = [];
    const line = (r: Run) => `${Math.round(r.rate).toString().padStart(7)} round trips/s   p50 ${r.p50.toFixed(2)} ms   p99 ${r.p99.toFixed(2)} ms`;
    for (let rep = 1; rep <= REPEAT; rep++) {
      if (REPEAT > 1) console.log(`-- turn ${rep} of ${REPEAT}`);
      // 1. raw echo, while no server instance is subscribed (its answers would count)
      const echoFilter = playerRequestTopic.shared('bench-echo');
      await echo.subscribeAsync(echoFilter, { qos: 1 });
      const raw = await driveInChild(services.urls.mqttMtls, players, 'echo');
      await echo.unsubscribeAsync(echoFilter);
      console.log(`raw echo      ${line(raw)}   responder CPU ${raw.cpuUsPerRoundTrip.toFixed(0)} us/round trip   (${others(raw)})`);

      // 2. the Makapix server (fresh instance, workers on)
      const server2 = await startServer(server.ctx.config, { log });
      // transactions committed in the database (each statement outside a transaction is one)
      const commits = async () => Number((await server2.ctx.sql<{ n: string }[]>`select xact_commit::text as n from pg_stat_database where datname = current_database()`)[0]!.n);
      const commits0 = await commits();
      const srv = await driveInChild(services.urls.mqttMtls, players, 'query_posts', postgresPid);
      await new Promise((r) => setTimeout(r, 600)); // the statistics collector reports every 500 ms
      const txPerRoundTrip = (await commits() - commits0) / Math.max(1, srv.count);
      console.log(`query_posts   ${line(srv)}   server CPU ${srv.cpuUsPerRoundTrip.toFixed(0)} us/round trip   PostgreSQL CPU ${srv.pgCpuUsPerRoundTrip.toFixed(0)} us/round trip   (${srv.errors} error answers; ${others(srv)})`);
      console.log(`database transactions per round trip: ${txPerRoundTrip.toFixed(2)} (every player asks for the same first page: identical reads arriving together share a statement)`);
      const distinct0 = await commits();
      const dist = await driveInChild(services.urls.mqttMtls, players, 'query_posts_distinct', postgresPid);
      await new Promise((r) => setTimeout(r, 600));
      const distinctTx = (await commits() - distinct0) / Math.max(1, dist.count);
      console.log(`query_posts, each a different query (random order, own seed)`);
      console.log(`              ${line(dist)}   server CPU ${dist.cpuUsPerRoundTrip.toFixed(0)} us/round trip   PostgreSQL CPU ${dist.pgCpuUsPerRoundTrip.toFixed(0)} us/round trip   (${dist.errors} error answers; ${others(dist)})`);
      console.log(`database transactions per round trip: ${distinctTx.toFixed(2)}`);
      const halfRate = srv.rate / 2;
      // the server's event-loop delay meanwhile: how much of the latency tail the server's own stalls explain
      const eld = monitorEventLoopDelay({ resolution: 1 });
      eld.enable();
      const paced = await driveInChild(services.urls.mqttMtls, players, 'query_posts', postgresPid, halfRate);
      eld.disable();
      const eldP99 = eld.percentile(99) / 1e6;
      const eldMax = eld.max / 1e6;
      console.log(`query_posts at half that peak (${Math.round(halfRate)}/s offered at a steady pace)`);
      console.log(`              ${line(paced)}   server CPU ${paced.cpuUsPerRoundTrip.toFixed(0)} us/round trip   PostgreSQL CPU ${paced.pgCpuUsPerRoundTrip.toFixed(0)} us/round trip   server event-loop delay p99 ${eldP99.toFixed(1)} ms, max ${eldMax.toFixed(1)} ms`);
      console.log(`server / raw echo: ${(srv.rate / raw.rate).toFixed(2)} same page, ${(dist.rate / raw.rate).toFixed(2)} different queries`);
      await server2.stop();
      // the raw echo at the same steady pace: the latency the broker and the machine give alone
      await echo.subscribeAsync(echoFilter, { qos: 1 });
      const pacedEcho = await driveInChild(services.urls.mqttMtls, players, 'echo', undefined, halfRate);
      await echo.unsubscribeAsync(echoFilter);
      console.log(`raw echo at the same pace: ${line(pacedEcho)}`);
      reps.push({ raw, srv: { ...srv, dbTxPerRoundTrip: txPerRoundTrip }, dist: { ...dist, dbTxPerRoundTrip: distinctTx }, paced: { ...paced, offered: halfRate, eventLoopP99Ms: eldP99, eventLoopMaxMs: eldMax }, pacedEcho });
    }
    await echo.endAsync();
    const median = (xs: number[]) => {
      const v = [...xs].sort((x, y) => x - y);
      return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
    };
    // each figure's median over the turns (the run whose ratio is the median is not one run)
    const med = <K extends keyof (typeof reps)[number]>(k: K) => ({
      rate: median(reps.map((r) => r[k].rate)), count: median(reps.map((r) => r[k].count)), p50: median(reps.map((r) => r[k].p50)), p99: median(reps.map((r) => r[k].p99)),
      errors: reps.reduce((a, r) => a + r[k].errors, 0), cpuUsPerRoundTrip: median(reps.map((r) => r[k].cpuUsPerRoundTrip)), pgCpuUsPerRoundTrip: median(reps.map((r) => r[k].pgCpuUsPerRoundTrip)),
      brokerCpuUsPerRoundTrip: median(reps.map((r) => r[k].brokerCpuUsPerRoundTrip)), playersCpuUsPerRoundTrip: median(reps.map((r) => r[k].playersCpuUsPerRoundTrip)),
    });
    const sameRatio = median(reps.map((r) => r.srv.rate / r.raw.rate));
    const distinctRatio = median(reps.map((r) => r.dist.rate / r.raw.rate));
    if (REPEAT > 1) {
      console.log(`-- medians of ${REPEAT} turns: server / raw echo ${sameRatio.toFixed(2)} same page, ${distinctRatio.toFixed(2)} different queries; ` +
        `server CPU ${med('srv').cpuUsPerRoundTrip.toFixed(0)} / ${med('dist').cpuUsPerRoundTrip.toFixed(0)} us/round trip; p99 at half the peak ${med('paced').p99.toFixed(2)} ms`);
    }
    writeBenchResult({
      players: PLAYERS, inflight: INFLIGHT, seconds: SECONDS, turns: REPEAT, sameRatio, distinctRatio,
      echo: med('raw'), samePage: { ...med('srv'), dbTxPerRoundTrip: median(reps.map((r) => r.srv.dbTxPerRoundTrip)) },
      distinct: { ...med('dist'), dbTxPerRoundTrip: median(reps.map((r) => r.dist.dbTxPerRoundTrip)) },
      halfPeakEcho: med('pacedEcho'),
      halfPeak: { ...med('paced'), offered: median(reps.map((r) => r.paced.offered)), eventLoopP99Ms: median(reps.map((r) => r.paced.eventLoopP99Ms)), eventLoopMaxMs: Math.max(...reps.map((r) => r.paced.eventLoopMaxMs)) },
      ratios: reps.map((r) => ({ samePage: r.srv.rate / r.raw.rate, distinct: r.dist.rate / r.raw.rate })),
    });
  } finally {
    await services.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const childMode = process.argv.indexOf('--child');
(childMode >= 0 ? child(process.argv[childMode + 1]) : main()).then(() => process.exit(0), (err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
