// Schema migrations: `migrations/NNNN_name.sql`, applied in file-name order, each in its own
// transaction together with its row in schema_migrations. Every transaction first takes a
// transaction-level advisory lock, so instances starting together apply each file once (the
// others wait, then see it recorded). Re-running is a no-op. A recorded migration whose file has
// changed since is an error (write a new migration instead).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Queryable, Sql } from './client.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Key of the advisory lock held while migrating (any constant; "makapix!" in ASCII). */
export const MIGRATION_LOCK_KEY = 0x6d616b6170697821n;

const FILE_NAME = /^(\d{4})_[a-z0-9_]+\.sql$/;

export interface MigrationFile {
  name: string;
  path: string;
  checksum: string;
}

export interface MigrateResult {
  /** Files applied by this call, in order. */
  applied: string[];
  /** Files that were already recorded. */
  skipped: string[];
}

export class MigrationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MigrationError';
  }
}

/** The migration files of `dir`, sorted, with their sha256. Rejects badly named .sql files and duplicate numbers. */
export function listMigrations(dir: string = MIGRATIONS_DIR): MigrationFile[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const seen = new Map<string, string>();
  return files.map((name) => {
    const m = FILE_NAME.exec(name);
    if (!m) throw new MigrationError(`migration file ${join(dir, name)}: name must look like 0002_add_things.sql (4 digits, '_', lower-case words)`);
    const prior = seen.get(m[1]!);
    if (prior) throw new MigrationError(`migration files ${prior} and ${name} share the number ${m[1]}`);
    seen.set(m[1]!, name);
    const path = join(dir, name);
    const checksum = createHash('sha256').update(readFileSync(path)).digest('hex');
    return { name, path, checksum };
  });
}

async function lock(tx: Queryable): Promise<void> {
  await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
}

/** Applies every pending migration of `dir`. Safe to call concurrently from several processes. */
export async function migrate(sql: Sql, opts: { dir?: string; log?: (line: string) => void } = {}): Promise<MigrateResult> {
  const files = listMigrations(opts.dir);
  const result: MigrateResult = { applied: [], skipped: [] };

  await sql.begin(async (tx) => {
    await lock(tx);
    await tx`
      create table if not exists schema_migrations (
        name       text primary key,
        checksum   text not null,
        applied_at timestamptz not null default now()
      )`;
  });

  for (const file of files) {
    await sql.begin(async (tx) => {
      await lock(tx);
      const [row] = await tx<{ checksum: string }[]>`select checksum from schema_migrations where name = ${file.name}`;
      if (row) {
        if (row.checksum !== file.checksum) {
          throw new MigrationError(
            `migration ${file.name} was changed after it was applied (recorded sha256 ${row.checksum}, file ${file.checksum}); ` +
              'restore the file and put the change in a new migration',
          );
        }
        result.skipped.push(file.name);
        return;
      }
      try {
        // A file holds several statements: sql.file without parameters uses the simple query protocol.
        await tx.file(file.path, { cache: false });
      } catch (err) {
        throw new MigrationError(`migration ${file.name} failed: ${(err as Error).message}`, { cause: err });
      }
      await tx`insert into schema_migrations (name, checksum) values (${file.name}, ${file.checksum})`;
      result.applied.push(file.name);
      opts.log?.(`applied migration ${file.name}`);
    });
  }

  // Recorded migrations whose files are gone mean this code is older than the database.
  const known = new Set(files.map((f) => f.name));
  const recorded = await sql<{ name: string }[]>`select name from schema_migrations order by name`;
  const unknown = recorded.map((r) => r.name).filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new MigrationError(`the database has migrations this server does not know: ${unknown.join(', ')} (is the server older than the database?)`);
  }
  return result;
}
