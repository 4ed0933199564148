// The dev PostgreSQL cluster: starts, answers, keeps data across restarts; DATABASE_URL wins.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startPostgres, useOrStartPostgres, type Postgres } from '../../devenv/postgres.js';
import { isAlive } from '../../devenv/process-control.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
const started: Postgres[] = [];

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  tmp.remove();
});

async function query<T extends readonly object[]>(url: string, f: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try { return await f(sql); } finally { await sql.end({ timeout: 5 }); }
}

describe('startPostgres', () => {
  const dir = `${tmp.path}/pg`;

  it('starts a cluster with a makapix database that answers select 1', async () => {
    const pg = await startPostgres({ dir, forTests: true });
    started.push(pg);
    expect(pg.url).toBe(`postgres://postgres@127.0.0.1:${pg.port}/makapix`);
    expect(isAlive(pg.pid)).toBe(true);
    const rows = await query(pg.url, (sql) => sql`select 1 as one, current_database() as db, current_setting('fsync') as fsync`);
    expect([...rows]).toEqual([{ one: 1, db: 'makapix', fsync: 'off' }]);
    await query(pg.url, (sql) => sql`create table kept (v text)`);
    await query(pg.url, (sql) => sql`insert into kept values ('survives restarts')`);
  });

  it('stops by PID and keeps the data across a restart (on another port)', async () => {
    const first = started.pop()!;
    await first.stop();
    expect(isAlive(first.pid)).toBe(false);
    const pg = await startPostgres({ dir });
    started.push(pg);
    expect(pg.pid).not.toBe(first.pid);
    const rows = await query(pg.url, (sql) => sql`select v, current_setting('fsync') as fsync from kept`);
    expect([...rows]).toEqual([{ v: 'survives restarts', fsync: 'on' }]);
  });

  it('runs as the postgres user when started as root', () => {
    if (process.getuid?.() !== 0) return;
    const owner = statSync(`${dir}/data/PG_VERSION`).uid;
    expect(owner).not.toBe(0);
  });
});

describe('useOrStartPostgres', () => {
  it('uses DATABASE_URL when set and starts nothing', async () => {
    const dir = `${tmp.path}/never`;
    const choice = await useOrStartPostgres({ dir }, { DATABASE_URL: 'postgres://u@db.example:5432/x' });
    expect(choice).toMatchObject({ url: 'postgres://u@db.example:5432/x', external: true });
    expect(choice.postgres).toBeUndefined();
    await choice.stop();
    expect(() => statSync(dir)).toThrow();
  });

  it('starts a cluster when DATABASE_URL is unset or empty', async () => {
    await Promise.all(started.splice(0).map((p) => p.stop())); // reuse the cluster dir above (no second initdb)
    const choice = await useOrStartPostgres({ dir: `${tmp.path}/pg`, forTests: true }, { DATABASE_URL: '' });
    try {
      expect(choice.external).toBe(false);
      const rows = await query(choice.url, (sql) => sql`select 1 as one`);
      expect(rows[0]).toEqual({ one: 1 });
    } finally {
      await choice.stop();
    }
  });
});

describe('as root, with the data under a 0700 home directory (a newcomer\'s first `make run` in /root)', () => {
  const root = process.getuid?.() === 0;

  it.skipIf(!root)('lets the postgres user through with an ACL on the home (search only), reports it, and starts', async () => {
    const home = mkdtempSync(join(tmpdir(), 'makapix-home-')); // 0700, owned by root: like /root
    try {
      expect(statSync(home).mode & 0o777).toBe(0o700);
      const dir = join(home, 'checkout', '.data', 'postgres');
      const notices: string[] = [];
      const pg = await startPostgres({ dir, forTests: true, notice: (m) => notices.push(m) });
      try {
        const rows = await query(pg.url, (sql) => sql`select 1 as one`);
        expect(rows[0]).toEqual({ one: 1 });
      } finally {
        await pg.stop();
      }
      const acl = execFileSync('getfacl', ['-p', '-c', home], { encoding: 'utf8' });
      expect(acl).toContain('user:postgres:--x');
      expect(acl).toMatch(/other::---/); // nobody else got anything
      expect(statSync(join(home, 'checkout')).mode & 0o777).toBe(0o755); // untouched (it was reachable)
      expect(notices).toEqual([
        `postgres: gave the postgres user search permission (x, no listing) on ${home} so that it can reach ${dir}: \`setfacl -m u:postgres:x ${home}\` (undo: \`setfacl -x u:postgres ${home}\`)`,
      ]);
      // a second start finds it reachable: nothing more to grant
      const again = await startPostgres({ dir, forTests: true, notice: (m) => notices.push(m) });
      await again.stop();
      expect(notices).toHaveLength(1);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
