// A throw-away or persistent PostgreSQL 15 cluster under a dir, run as the `postgres` user
// when we are root (initdb refuses root). Layout: <dir>/data (PGDATA), <dir>/postgres.log,
// unix socket in <dir> (-k). Restarting with the same dir keeps the data.
// If DATABASE_URL is set, use that database instead (useOrStartPostgres decides).
import { accessSync, chownSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import postgres from 'postgres';
import { freePort } from './free-port.js';
import { cmdlineOf, isAlive, isRoot, run, stopPid } from './process-control.js';
import { binaries } from './system-packages.js';

export interface StartPostgresOptions {
  dir: string;
  port?: number;
  /** Database to create if missing (default `makapix`). */
  database?: string;
  /** fsync/synchronous_commit/full_page_writes off: fast, not crash-safe. */
  forTests?: boolean;
  timeoutMs?: number;
}

export interface Postgres {
  url: string;
  port: number;
  pid: number;
  dir: string;
  database: string;
  stop(): Promise<void>;
}

const PG_USER = 'postgres';
/** Unix sockets are limited to 107 bytes: `<dir>/.s.PGSQL.<port>` must fit. */
const MAX_SOCKET_DIR = 90;

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', PG_USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', PG_USER], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** The postgres user must be able to reach `dir`: every ancestor needs o+x (or be postgres-owned). */
function assertReachable(dir: string, uid: number): void {
  for (let d = dirname(dir); ; d = dirname(d)) {
    const st = statSync(d);
    if (!(st.mode & 0o001) && st.uid !== uid) {
      throw new Error(`postgres: user ${PG_USER} cannot reach ${dir}: ${d} has mode ${(st.mode & 0o777).toString(8)}; run \`chmod o+x ${d}\` or use another dir`);
    }
    if (d === dirname(d)) return;
  }
}

function readPid(dataDir: string): number | undefined {
  const f = join(dataDir, 'postmaster.pid');
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').split('\n')[0]);
  return pid > 0 ? pid : undefined;
}

/** SIGINT = PostgreSQL's "fast" shutdown (SIGTERM would wait for every client to leave). */
const stopPostmaster = (pid: number) => stopPid(pid, 15_000, 'SIGINT');

async function ensureDatabase(port: number, database: string): Promise<void> {
  const sql = postgres({ host: '127.0.0.1', port, user: PG_USER, database: 'postgres', max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${database}`;
    if (rows.length === 0) await sql`create database ${sql(database)}`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function startPostgres(opts: StartPostgresOptions): Promise<Postgres> {
  const dir = resolve(opts.dir);
  const dataDir = join(dir, 'data');
  const database = opts.database ?? 'makapix';
  if (dir.length > MAX_SOCKET_DIR) throw new Error(`postgres: dir path too long for a unix socket (${dir.length} > ${MAX_SOCKET_DIR}): ${dir}`);
  mkdirSync(dir, { recursive: true });
  const asUser = isRoot() ? PG_USER : undefined;
  if (asUser) {
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
    if (existsSync(dataDir)) chownSync(dataDir, uid, gid);
    assertReachable(dir, uid);
  }
  accessSync(binaries.initdb, constants.X_OK);

  // A postmaster left running on this dir by an earlier run (crashed test, killed `make run`).
  const stale = readPid(dataDir);
  if (stale && isAlive(stale) && cmdlineOf(stale).includes(dataDir)) await stopPostmaster(stale);

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    await run(binaries.initdb, ['-D', dataDir, '-U', PG_USER, '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C'], { asUser });
  }

  const port = opts.port ?? (await freePort());
  const serverOpts = [
    '-c listen_addresses=127.0.0.1', `-p ${port}`, `-k ${dir}`,
    ...(opts.forTests ? ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off'] : []),
  ].join(' ');
  const timeoutS = Math.ceil((opts.timeoutMs ?? 30_000) / 1000);
  try {
    await run(binaries.pgCtl, ['-D', dataDir, '-l', join(dir, 'postgres.log'), '-w', '-t', String(timeoutS), '-o', serverOpts, 'start'], { asUser });
  } catch (err) {
    let log = '';
    try { log = readFileSync(join(dir, 'postgres.log'), 'utf8').trimEnd().split('\n').slice(-10).join('\n'); } catch { /* none */ }
    throw new Error(`${(err as Error).message}\n${log}`);
  }
  const pid = readPid(dataDir);
  if (!pid) throw new Error(`postgres: started but ${dataDir}/postmaster.pid is missing`);
  const stop = () => stopPostmaster(pid);
  try {
    await ensureDatabase(port, database);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `postgres://${PG_USER}@127.0.0.1:${port}/${database}`, port, pid, dir, database, stop };
}

export interface DatabaseChoice {
  url: string;
  /** true when DATABASE_URL was used (nothing was started, stop() does nothing). */
  external: boolean;
  postgres?: Postgres;
  stop(): Promise<void>;
}

/** DATABASE_URL if set (non-empty), else a cluster started under opts.dir. */
export async function useOrStartPostgres(opts: StartPostgresOptions, env: NodeJS.ProcessEnv = process.env): Promise<DatabaseChoice> {
  const external = env.DATABASE_URL?.trim();
  if (external) return { url: external, external: true, stop: async () => {} };
  const pg = await startPostgres(opts);
  return { url: pg.url, external: false, postgres: pg, stop: pg.stop };
}
