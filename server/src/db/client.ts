// The postgres.js connection pool. One per process; every query module takes it (or a
// transaction) as its first argument.
import postgres from 'postgres';

/**
 * int8 (bigint, count(*), identity columns) as a JS number. Every such value in this data model
 * (ids, counters) stays far below 2^53; a larger one is an error rather than a silent rounding.
 */
const bigintAsNumber = {
  to: 20,
  from: [20],
  serialize: (x: number | bigint | string) => String(x),
  parse: (raw: string): number => {
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) throw new RangeError(`int8 value ${raw} does not fit in a JS number`);
    return n;
  },
} satisfies postgres.PostgresType<number>;

export type DbTypes = { bigint: number };
/** The pool. */
export type Sql = postgres.Sql<DbTypes>;
/** A transaction (inside sql.begin). */
export type Tx = postgres.TransactionSql<DbTypes>;
/** Anything that runs a tagged-template query: the pool or a transaction. */
export type Queryable = postgres.ISql<DbTypes>;

export interface DbOptions {
  url: string;
  /** Pool size (default 10). */
  max?: number;
  /** Seconds before an idle connection is closed (default 30). */
  idleTimeoutSeconds?: number;
  /** Seconds to wait for a connection (default 10). */
  connectTimeoutSeconds?: number;
  /** application_name seen in pg_stat_activity (default "makapix-server"). */
  applicationName?: string;
}

/** Seconds a connection waits before its next attempt after `retries` failed ones: 50 ms doubling, at most 1 s. */
export function reconnectBackoffSeconds(retries: number): number {
  return Math.min(0.05 * 2 ** Math.max(0, retries - 1), 1) * (0.75 + Math.random() / 4);
}

/** Opens the pool (connections are made lazily). Close it with `sql.end()`. */
export function createSql(opts: DbOptions): Sql {
  return postgres(opts.url, {
    max: opts.max ?? 10,
    idle_timeout: opts.idleTimeoutSeconds ?? 30,
    connect_timeout: opts.connectTimeoutSeconds ?? 10,
    prepare: true,
    // Reconnect soon after the database is back. postgres.js's default backoff grows with every
    // failed connection attempt of the pool (3^n / 100 s, capped at 20 s, and a connection waits
    // out its delay before it tries again), so after an outage under load the first statements
    // waited 10-20 s for a connection although the database answered again.
    backoff: reconnectBackoffSeconds,
    onnotice: () => {},
    types: { bigint: bigintAsNumber },
    connection: { application_name: opts.applicationName ?? 'makapix-server' },
  });
}

/** The pool from the server configuration (`applicationName`: this instance's, see db/gauges.ts). */
export function createSqlFromConfig(config: { database: { url: string; poolMax: number } }, opts: { applicationName?: string } = {}): Sql {
  return createSql({ url: config.database.url, max: config.database.poolMax, applicationName: opts.applicationName });
}

/** SQLSTATE of a PostgresError, or undefined. */
export function pgErrorCode(err: unknown): string | undefined {
  return err instanceof postgres.PostgresError ? err.code : undefined;
}

/** Constraint name of a PostgresError (unique, check, foreign key, or raised by a trigger), or undefined. */
export function pgConstraint(err: unknown): string | undefined {
  return err instanceof postgres.PostgresError ? err.constraint_name : undefined;
}

/** True for a unique violation, optionally of the named constraint/index. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  return pgErrorCode(err) === '23505' && (constraint === undefined || pgConstraint(err) === constraint);
}
