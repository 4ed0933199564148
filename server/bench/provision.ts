// Benchmark: the p3a provisioning flow alone (POST provisionPlayer, registerPlayer by the owner,
// getPlayerCredentials), 16 players at a time, against its own broker, database and one server in
// this process. Prints players/s, CPU per player (this process: REST client + server; PostgreSQL
// and its backends) and the mean wall time of each call. With PROF_OUT=<file>.cpuprofile it writes
// a CPU profile of the measured part only (warm-up and start-up left out), for Chrome DevTools.
// 150 players warm up first. Asserts nothing.
//   npx tsx server/bench/provision.ts [players (600)]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import { pino } from 'pino';
import { createClient } from '@makapix/contract/openapi/client';
import { freePort, serverEnv, startServices } from '../devenv/index.js';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/main.js';
import { treeCpuSeconds } from './support.js';

const N = Number(process.argv[2] ?? 600);
if (!Number.isInteger(N) || N < 1) throw new Error(`usage: npx tsx server/bench/provision.ts [players]; got ${JSON.stringify(process.argv[2])}`);
const dataDir = mkdtempSync(join(tmpdir(), 'makapix-provision-'));
const services = await startServices({ dataDir, forTests: true });
const env = {
  ...serverEnv(services), HTTP_PORT: '0', DATABASE_POOL_MAX: '10', SCRYPT_N: '1024',
  RATE_LIMIT_PLAYER_PER_MINUTE: '1000000', RATE_LIMIT_USER_PER_MINUTE: '1000000', RATE_LIMIT_REGISTER_PLAYER_PER_MINUTE: '1000000', RATE_LIMIT_SIGNUP_PER_MINUTE: '1000000', RATE_LIMIT_PROVISION_PER_MINUTE: '1000000',
};
const server = await startServer(loadConfig({ ...env, METRICS_PORT: String(await freePort()) }), { log: pino({ level: 'warn' }) });
const api = createClient(server.url);
const owners = Math.ceil((N + 200) / 128);
const tokens: string[] = [];
for (let i = 0; i < owners; i++) {
  const r = await api.authRegister({ body: { handle: `o-${i}`, email: `o-${i}@example.test`, password: 'fleet bench password' } });
  tokens.push((r.body as { token: string }).token);
}
const times = { provision: 0, register: 0, credentials: 0 };
/** `count` players through the three calls, 16 at a time; player i registers with owner i % owners. */
async function run(count: number, offset: number) {
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < count) {
      const i = offset + next++;
      let t = performance.now();
      const p = await api.provisionPlayer({ body: {} });
      if (p.status !== 201) throw new Error(`provisioning: HTTP ${p.status} ${JSON.stringify(p.body)}`);
      times.provision += performance.now() - t;
      t = performance.now();
      const r = await api.registerPlayer({ body: { registration_code: p.body.registration_code, name: `p ${i}` } }, { token: tokens[i % owners] });
      if (r.status !== 201) throw new Error(`registering: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      times.register += performance.now() - t;
      t = performance.now();
      const c = await api.getPlayerCredentials({ params: { player_key: p.body.player_key } });
      if (c.status !== 200) throw new Error(`credentials: HTTP ${c.status} ${JSON.stringify(c.body)}`);
      times.credentials += performance.now() - t;
    }
  }));
}
await run(150, 0);
times.provision = times.register = times.credentials = 0;
const PROF = process.env.PROF_OUT;
const session = new Session();
if (PROF) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const pg0 = treeCpuSeconds(services.database.postgres?.pid)!;
const c0 = process.cpuUsage();
const t0 = performance.now();
await run(N, 1000);
const s = (performance.now() - t0) / 1000;
const c = process.cpuUsage(c0);
const pg1 = treeCpuSeconds(services.database.postgres?.pid)!;
if (PROF) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(PROF, JSON.stringify(profile));
  session.disconnect();
}
console.log(`${N} players ${s.toFixed(2)} s = ${Math.round(N / s)}/s; cpu ${((c.user + c.system) / 1000 / N).toFixed(2)} ms/player; pg ${(((pg1 - pg0) * 1000) / N).toFixed(2)} ms/player; wall per call (ms, 16 concurrent): provision ${(times.provision / N).toFixed(1)} register ${(times.register / N).toFixed(1)} creds ${(times.credentials / N).toFixed(1)}`);
await server.stop();
await services.stop();
rmSync(dataDir, { recursive: true, force: true });
