import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMigrations, migrate, MigrationError, MIGRATIONS_DIR } from '../../src/db/migrate.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';

let db: TestDatabase;
const tmpDirs: string[] = [];

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mkp-mig-'));
  tmpDirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(async () => {
  await db?.stop();
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

describe('migrate', () => {
  it('applies every migration once, then is a no-op', async () => {
    const all = listMigrations().map((f) => f.name);
    expect(all[0]).toBe('0001_init.sql');
    const first = await migrate(db.sql);
    expect(first.applied).toEqual(all);
    const second = await migrate(db.sql);
    expect(second.applied).toEqual([]);
    expect(second.skipped).toEqual(all);
    const rows = await db.sql<{ name: string }[]>`select name from schema_migrations order by name`;
    expect(rows.map((r) => r.name)).toEqual(all);
    const tables = await db.sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
    expect(tables.map((t) => t.table_name)).toEqual([
      'category_follows', 'comments', 'follows', 'mqtt_requests', 'outbox', 'outbox_fanout', 'player_commands', 'players', 'posts',
      'rate_limit_counters', 'reactions', 'refresh_tokens', 'request_sessions', 'revoked_certificates', 'role_changes', 'schema_migrations', 'users', 'vault_objects', 'view_events',
      'web_mqtt_credentials',
    ]);
  });

  it('applies each file exactly once when several instances start together', async () => {
    const url = await db.createDatabase('concurrent_mig');
    const pools = [db.pool(url), db.pool(url), db.pool(url)];
    const results = await Promise.all(pools.map((p) => migrate(p)));
    const applied = results.flatMap((r) => r.applied).sort();
    expect(applied).toEqual(listMigrations().map((f) => f.name));
    const [{ n }] = await pools[0]!<{ n: number }[]>`select count(*) as n from schema_migrations`;
    expect(n).toBe(readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).length);
  });

  it('rolls a failing migration back entirely and records nothing', async () => {
    const url = await db.createDatabase('failing_mig');
    const sql = db.pool(url);
    const dir = migrationsDir({
      '0001_ok.sql': 'create table a (x int);',
      '0002_bad.sql': 'create table b (x int);\ninsert into nope values (1);',
    });
    const err = await migrate(sql, { dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MigrationError);
    expect((err as Error).message).toMatch(/0002_bad\.sql failed: relation "nope" does not exist/);
    const names = await sql<{ name: string }[]>`select name from schema_migrations`;
    expect(names.map((r) => r.name)).toEqual(['0001_ok.sql']);
    const [{ b }] = await sql<{ b: string | null }[]>`select to_regclass('b')::text as b`;
    expect(b).toBeNull();
  });

  it('refuses a migration that changed after it was applied', async () => {
    const url = await db.createDatabase('changed_mig');
    const sql = db.pool(url);
    const dir = migrationsDir({ '0001_a.sql': 'create table a (x int);' });
    await migrate(sql, { dir });
    writeFileSync(join(dir, '0001_a.sql'), 'create table a (x bigint);');
    await expect(migrate(sql, { dir })).rejects.toThrow(/0001_a\.sql was changed after it was applied/);
  });

  it('refuses badly named files and unknown recorded migrations', async () => {
    const bad = migrationsDir({ '1_init.sql': 'select 1;' });
    expect(() => listMigrations(bad)).toThrow(/name must look like 0002_add_things\.sql/);
    const url = await db.createDatabase('unknown_mig');
    const sql = db.pool(url);
    await migrate(sql, { dir: migrationsDir({ '0001_a.sql': 'select 1;', '0002_b.sql': 'select 2;' }) });
    await expect(migrate(sql, { dir: migrationsDir({ '0001_a.sql': 'select 1;' }) })).rejects.toThrow(
      /does not know: 0002_b\.sql/,
    );
  });
});
