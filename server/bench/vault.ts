// Benchmark: the artwork vault with a 64x64 PNG.
//   1. starts its own broker + database and one server in this process;
//   2. uploads --uploads distinct 64x64 PNGs through POST /post (multipart), --concurrency at a time
//      (each upload: parse, inspect with sharp, write + fsync + rename, insert in one transaction);
//   3. downloads them --rounds times through GET /vault/aa/bb/<key>.png, --concurrency at a time
//      (each download: one indexed query, then the file streamed).
// Prints uploads/s and downloads/s; asserts nothing.
//   npx tsx server/bench/vault.ts [--uploads 300] [--rounds 5] [--concurrency 16]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import sharp from 'sharp';
import { createClient } from '@makapix/contract/openapi/client';
import { serverEnv, startServices } from '../devenv/index.js';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/main.js';
import { pool } from './support.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer (got ${process.argv[i + 1]})`);
  return v;
}
const UPLOADS = arg('uploads', 300);
const ROUNDS = arg('rounds', 5);
const CONCURRENCY = arg('concurrency', 16);

/** A distinct 64x64 pixel-art PNG (16x16 blocks of 4x4 pixels, colours from the seed). */
function png64(seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(64 * 64 * 3);
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const o = (y * 64 + x) * 3;
      const block = (y >> 2) * 16 + (x >> 2);
      raw[o] = (block * 7 + seed * 31) & 0xff;
      raw[o + 1] = (block * 13 + seed * 17) & 0xff;
      raw[o + 2] = (block * 3 + seed) & 0xff;
    }
  }
  return sharp(raw, { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'makapix-bench-vault-'));
  const services = await startServices({ dataDir, forTests: true });
  try {
    const server = await startServer(loadConfig({ ...serverEnv(services), HTTP_PORT: '0', SCRYPT_N: '1024', DATABASE_POOL_MAX: '10' }), { log: pino({ level: 'warn' }) });
    const api = createClient(server.url);
    const user = await api.authRegister({ body: { handle: 'vaultbench', email: 'vault@example.test', password: 'vault vault vault' } });
    if (user.status !== 201) throw new Error(`register: ${user.status} ${JSON.stringify(user.body)}`);
    const images = await Promise.all(Array.from({ length: UPLOADS }, (_, i) => png64(i)));
    const sizes = images.map((b) => b.length).sort((a, b) => a - b);
    console.log(`vault: ${UPLOADS} distinct 64x64 PNGs (${sizes[0]}..${sizes[sizes.length - 1]} bytes), ${CONCURRENCY} requests in flight, one server on this machine`);

    const paths: string[] = [];
    let t0 = performance.now();
    await pool(UPLOADS, CONCURRENCY, async (i) => {
      const r = await api.createPost({ body: { title: `Bench ${i}`, image: new File([images[i]!], `b${i}.png`, { type: 'image/png' }) } }, { token: user.body.token });
      if (r.status !== 201) throw new Error(`upload ${i}: ${r.status} ${JSON.stringify(r.body)}`);
      paths[i] = new URL(r.body.art_url).pathname;
    });
    let s = (performance.now() - t0) / 1000;
    console.log(`uploads:   ${UPLOADS} in ${s.toFixed(2)} s = ${Math.round(UPLOADS / s)} uploads/s (POST /post multipart: inspect, write + fsync + rename, insert)`);

    // baselines on the same machine and client: a JSON post (no file), and the cheapest GET
    t0 = performance.now();
    await pool(UPLOADS, CONCURRENCY, async (i) => {
      const r = await api.createPost({ body: { title: `Json ${i}`, art_url: `https://example.test/${i}.png`, canvas: '64x64', width: 64, height: 64 } }, { token: user.body.token });
      if (r.status !== 201) throw new Error(`json post ${i}: ${r.status}`);
    });
    s = (performance.now() - t0) / 1000;
    console.log(`  baseline: ${Math.round(UPLOADS / s)} JSON posts/s (POST /post without a file)`);

    const total = UPLOADS * ROUNDS;
    let bytes = 0;
    t0 = performance.now();
    await pool(total, CONCURRENCY, async (i) => {
      const res = await fetch(`${server.url}${paths[i % UPLOADS]}`);
      const body = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200 || !body.equals(images[i % UPLOADS]!)) throw new Error(`download ${i}: ${res.status}`);
      bytes += body.length;
    });
    s = (performance.now() - t0) / 1000;
    console.log(`downloads: ${total} in ${s.toFixed(2)} s = ${Math.round(total / s)} downloads/s (${(bytes / s / 1024 / 1024).toFixed(1)} MiB/s; GET /vault/aa/bb/<key>.png: row lookup + file stream)`);
    t0 = performance.now();
    await pool(total, CONCURRENCY, async () => {
      const res = await fetch(`${server.url}/healthz`);
      await res.arrayBuffer();
    });
    s = (performance.now() - t0) / 1000;
    console.log(`  baseline: ${Math.round(total / s)} GET /healthz/s (no database, no file)`);
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
