// Startup's database step: connect and apply the migrations, waiting for a PostgreSQL that is
// not reachable yet (see wait-for.ts). Rejected credentials (SQLSTATE class 28) fail at once.
import postgres from 'postgres';
import type { FastifyBaseLogger } from 'fastify';
import { MigrationError, migrate, type MigrateResult, type Sql } from '../db/index.js';
import { NETWORK_ERROR_CODES, urlWithoutPassword, waitFor, type FailureKind, type StartupBudget } from './wait-for.js';

/** postgres.js's own codes for a connection that could not be made or was lost. */
const CLIENT_CONNECTION_CODES: ReadonlySet<string> = new Set(['CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED']);

/** SQLSTATEs of a server that is starting, stopping or full: it will take connections again. */
const RETRY_SQLSTATES: ReadonlySet<string> = new Set(['57P01', '57P02', '57P03', '53300']);

export function classifyDatabaseError(err: unknown): FailureKind {
  if (err instanceof MigrationError && err.cause !== undefined) {
    // A migration cut short by a lost connection is rolled back and can be run again.
    return classifyDatabaseError(err.cause) === 'retry' ? 'retry' : 'fatal';
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof postgres.PostgresError) {
    if (err.code.startsWith('28')) return 'credentials'; // 28P01 wrong password, 28000 no such role / no pg_hba entry
    if (err.code.startsWith('08') || RETRY_SQLSTATES.has(err.code)) return 'retry';
    return 'fatal';
  }
  if (typeof code === 'string' && (NETWORK_ERROR_CODES.has(code) || CLIENT_CONNECTION_CODES.has(code))) return 'retry';
  // The server asked for a password and DATABASE_URL has none (postgres.js fails hashing `undefined`).
  if (err instanceof TypeError && /"password" argument/.test(err.message)) return 'credentials';
  return 'fatal';
}

/** Runs the migrations once PostgreSQL answers. Throws StartupError (unreachable, credentials) or the migration's error. */
export async function migrateWhenReachable(
  sql: Sql,
  opts: { url: string; budget: StartupBudget; log: FastifyBaseLogger },
): Promise<MigrateResult> {
  return waitFor({
    dependency: { name: 'PostgreSQL', url: urlWithoutPassword(opts.url), credentialsHint: 'the user name and password in DATABASE_URL' },
    budget: opts.budget,
    log: opts.log,
    attempt: () => migrate(sql, { log: (line) => opts.log.info(line) }),
    classify: classifyDatabaseError,
  });
}
