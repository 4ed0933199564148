// A throw-away or persistent PostgreSQL 15 cluster under a dir, run as the `postgres` user
// when we are root (initdb refuses root). Layout: <dir>/data (PGDATA), <dir>/postgres.log,
// unix socket in <dir> (-k). Restarting with the same dir keeps the data.
// If DATABASE_URL is set, use that database instead (useOrStartPostgres decides).
import { accessSync, chownSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import postgres from 'postgres';
import { freePort } from './free-port.js';
import { assertPortFree, cmdlineOf, isAlive, isRoot, run, stopPid } from './process-control.js';
import { binaries } from './system-packages.js';

export interface StartPostgresOptions {
  dir: string;
  port?: number;
  /** Database to create if missing (default `makapix`). */
  database?: string;
  /** fsync/synchronous_commit/full_page_writes off: fast, not crash-safe. */
  forTests?: boolean;
  timeoutMs?: number;
  /** Added to the error when the given port is taken (e.g. which variable chooses another). */
  portHint?: string;
  /** What was changed outside `dir` (an ACL granting the postgres user access); default console.warn. */
  notice?: (msg: string) => void;
}

export interface Postgres {
  url: string;
  port: number;
  pid: number;
  dir: string;
  database: string;
  /** Fast shutdown (SIGINT), then SIGKILL after `timeoutMs` (default 15 s). */
  stop(timeoutMs?: number): Promise<void>;
}

const PG_USER = 'postgres';
/** Unix sockets are limited to 107 bytes: `<dir>/.s.PGSQL.<port>` must fit. */
const MAX_SOCKET_DIR = 90;

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', PG_USER], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', PG_USER], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Whether the postgres user may search (traverse) `d`, by its mode bits alone (ACLs aside). */
function modeLetsTraverse(d: string, uid: number, gid: number): boolean {
  const st = statSync(d);
  if (st.uid === uid) return (st.mode & 0o100) !== 0;
  if (st.gid === gid) return (st.mode & 0o010) !== 0;
  return (st.mode & 0o001) !== 0;
}

/** Whether the postgres user can search `d` (ACLs included; its parents are already reachable). */
async function postgresCanTraverse(d: string): Promise<boolean> {
  try {
    await run('test', ['-x', d], { asUser: PG_USER });
    return true;
  } catch {
    return false;
  }
}

/**
 * The postgres user must be able to reach `dir` (runs as root only). Every ancestor it cannot
 * search (a 0700 home directory such as /root, a mkdtemp dir) gets one ACL entry giving the
 * postgres user search permission and nothing else (`setfacl -m u:postgres:x <d>`: no listing, no
 * reading, nobody else); each grant is reported through `notice` with the command that undoes it.
 */
async function ensureReachable(dir: string, uid: number, gid: number, notice: (msg: string) => void): Promise<void> {
  const ancestors: string[] = [];
  for (let d = dirname(dir); ; d = dirname(d)) {
    ancestors.unshift(d);
    if (d === dirname(d)) break;
  }
  for (const d of ancestors) {
    if (modeLetsTraverse(d, uid, gid) || (await postgresCanTraverse(d))) continue;
    const how = `chmod o+x ${d}, or set DATA_DIR to a directory the ${PG_USER} user can reach`;
    try {
      await run('setfacl', ['-m', `u:${PG_USER}:x`, d]);
    } catch (err) {
      throw new Error(`postgres: user ${PG_USER} cannot reach ${dir}: ${d} has mode ${(statSync(d).mode & 0o777).toString(8)} and granting it search permission with an ACL failed (${(err as Error).message.split('\n')[0]}); install the acl package or run \`${how}\``);
    }
    if (!(await postgresCanTraverse(d))) {
      throw new Error(`postgres: user ${PG_USER} still cannot reach ${dir} through ${d} after \`setfacl -m u:${PG_USER}:x ${d}\` (does this file system support ACLs?); ${how}`);
    }
    notice(`postgres: gave the ${PG_USER} user search permission (x, no listing) on ${d} so that it can reach ${dir}: \`setfacl -m u:${PG_USER}:x ${d}\` (undo: \`setfacl -x u:${PG_USER} ${d}\`)`);
  }
}

function readPid(dataDir: string): number | undefined {
  const f = join(dataDir, 'postmaster.pid');
  if (!existsSync(f)) return undefined;
  const pid = Number(readFileSync(f, 'utf8').split('\n')[0]);
  return pid > 0 ? pid : undefined;
}

/** SIGINT = PostgreSQL's "fast" shutdown (SIGTERM would wait for every client to leave). */
const stopPostmaster = (pid: number, timeoutMs = 15_000) => stopPid(pid, timeoutMs, 'SIGINT');

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
    await ensureReachable(dir, uid, gid, opts.notice ?? ((m) => console.warn(m)));
  }
  accessSync(binaries.initdb, constants.X_OK);

  // A postmaster left running on this dir by an earlier run (crashed test, killed `make run`).
  const stale = readPid(dataDir);
  if (stale && isAlive(stale) && cmdlineOf(stale).includes(dataDir)) await stopPostmaster(stale);

  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    await run(binaries.initdb, ['-D', dataDir, '-U', PG_USER, '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C'], { asUser });
  }

  const port = opts.port ?? (await freePort());
  // Taken by anything else (a postmaster left over on another dir, another program): say so
  // rather than let pg_ctl fail with "could not bind".
  if (opts.port !== undefined) await assertPortFree(port, 'postgres', { hint: opts.portHint, leftoverOf: dataDir });
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
  const stop = (timeoutMs?: number) => stopPostmaster(pid, timeoutMs);
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
  stop(timeoutMs?: number): Promise<void>;
}

/** DATABASE_URL if set (non-empty), else a cluster started under opts.dir. */
export async function useOrStartPostgres(opts: StartPostgresOptions, env: NodeJS.ProcessEnv = process.env): Promise<DatabaseChoice> {
  const external = env.DATABASE_URL?.trim();
  if (external) return { url: external, external: true, stop: async () => {} };
  const pg = await startPostgres(opts);
  return { url: pg.url, external: false, postgres: pg, stop: pg.stop };
}
