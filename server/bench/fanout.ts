// Benchmark: a new post by a user with many followers.
//   1. starts its own broker + database and one server (with its outbox publisher) in this process;
//   2. signs up an author through the REST API and inserts --followers followers in SQL;
//   3. creates --posts posts one after the other and, for each, measures the POST /post latency
//      and the time until every notification (the generic one and one per follower) is published
//      (acknowledged by the broker, as the publisher reports it to the metrics), and the CPU time
//      this process, the broker and PostgreSQL spent meanwhile.
// Prints numbers; asserts nothing.
//   npx tsx server/bench/fanout.ts [--followers 20000] [--posts 3] [--chunk 5000]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { createClient } from '@makapix/contract/openapi/client';
import { serverEnv, startServices } from '../devenv/index.js';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/main.js';
import type { NotificationChannel } from '../src/metrics/index.js';
import { treeCpuSeconds, writeBenchResult } from './support.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer (got ${process.argv[i + 1]})`);
  return v;
}
const FOLLOWERS = arg('followers', 20_000);
const POSTS = arg('posts', 3);
/** Followers per fan-out chunk (the server's FANOUT_CHUNK); absent: the server's default. */
const CHUNK = process.argv.includes('--chunk') ? arg('chunk', 1) : undefined;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'makapix-bench-fanout-'));
  const services = await startServices({ dataDir, forTests: true });
  try {
    const server = await startServer(loadConfig({ ...serverEnv(services), HTTP_PORT: '0', SCRYPT_N: '1024', ...(CHUNK ? { FANOUT_CHUNK: String(CHUNK) } : {}) }), { log: pino({ level: 'warn' }) });
    const sql = server.ctx.sql;
    const api = createClient(server.url);
    const author = await api.authRegister({ body: { handle: 'fanout', email: 'fanout@example.test', password: 'fanout fanout fanout' } });
    if (author.status !== 201) throw new Error(`register: ${author.status} ${JSON.stringify(author.body)}`);
    const [me] = await sql<{ id: number }[]>`select id from users where handle = 'fanout'`;
    await sql`
      with fans as (
        insert into users (handle, email, password_hash)
        select 'fan' || g, 'fan' || g || '@fanout.test', 'bench:no-login' from generate_series(1, ${FOLLOWERS}::int) g
        returning id)
      insert into follows (follower_id, followee_id) select id, ${me!.id} from fans`;
    console.log(`new post by a user with ${FOLLOWERS} followers (${POSTS} posts, one after the other)`);
    const allSeconds: number[] = [];
    let incomplete = 0;
    const cpu = () => ({ node: process.cpuUsage(), broker: treeCpuSeconds(services.broker.pid), postgres: treeCpuSeconds(services.database.postgres?.pid) });
    // "Published" is what the publisher reports to the metrics after the broker acknowledged
    // (QoS 1): counted here in the process, so that waiting costs the database nothing.
    let published = 0;
    const metrics = server.ctx.metrics as { notificationsPublished: (channel: NotificationChannel, n: number) => void };
    const report = metrics.notificationsPublished.bind(metrics);
    metrics.notificationsPublished = (channel, n) => {
      published += n;
      report(channel, n);
    };
    for (let i = 0; i < POSTS; i++) {
      published = 0;
      const c0 = cpu();
      const t0 = performance.now();
      const post = await api.createPost({ body: { title: `Fan-out ${i}`, art_url: `https://example.test/f${i}.png`, canvas: '64x64', width: 64, height: 64 } }, { token: author.body.token });
      const answered = performance.now() - t0;
      if (post.status !== 201) throw new Error(`createPost: ${post.status} ${JSON.stringify(post.body)}`);
      const deadline = Date.now() + 120_000;
      while (published < FOLLOWERS + 1 && Date.now() < deadline) await sleep(5);
      const all = performance.now() - t0;
      allSeconds.push(all / 1000);
      if (published < FOLLOWERS + 1) incomplete++;
      const c1 = cpu();
      const nodeCpu = (c1.node.user - c0.node.user + c1.node.system - c0.node.system) / 1e6;
      const other = (a: number | null, b: number | null) => (a === null || b === null ? '?' : (b - a).toFixed(2));
      console.log(`post ${i + 1}: POST /post answered in ${answered.toFixed(0)} ms; ${published} of ${FOLLOWERS + 1} notifications published after ${(all / 1000).toFixed(2)} s (${Math.round(published / (all / 1000))}/s); CPU s: node ${nodeCpu.toFixed(2)}, broker ${other(c0.broker, c1.broker)}, postgres ${other(c0.postgres, c1.postgres)}`);
    }
    const sorted = [...allSeconds].sort((a, b) => a - b);
    writeBenchResult({ followers: FOLLOWERS, posts: POSTS, allPublishedSeconds: allSeconds, medianSeconds: sorted[Math.floor(sorted.length / 2)], incomplete });
    await server.stop();
  } finally {
    await services.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
