// A throw-away PostgreSQL cluster for the db tests (one per test file), via the dev environment.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startPostgres } from '../../devenv/postgres.js';
import { createSql, type Sql } from '../../src/db/client.js';

export interface TestDatabase {
  url: string;
  /** A pool on the test database (closed by stop()). */
  sql: Sql;
  /** Another database on the same cluster, created empty; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** A pool that stop() closes too. */
  pool(url?: string, max?: number): Sql;
  stop(): Promise<void>;
}

export async function startTestDatabase(): Promise<TestDatabase> {
  const dir = mkdtempSync(join(tmpdir(), 'mkp-pg-'));
  const pg = await startPostgres({ dir, forTests: true, database: 'makapix_test' });
  const pools: Sql[] = [];
  const pool = (url = pg.url, max = 5) => {
    const s = createSql({ url, max, applicationName: 'makapix-test' });
    pools.push(s);
    return s;
  };
  const sql = pool();
  return {
    url: pg.url,
    sql,
    pool,
    async createDatabase(name: string) {
      const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
      try {
        await admin`create database ${admin(name)}`;
      } finally {
        await admin.end({ timeout: 5 });
      }
      return pg.url.replace(/\/[^/]+$/, `/${name}`);
    },
    async stop() {
      await Promise.all(pools.map((p) => p.end({ timeout: 5 })));
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
