// SQL about revoked device certificates: the source of the broker's CRL. The CRL file is always
// rewritten from ALL of them, so any instance can rewrite it and a broker restart keeps them.
import type { Queryable, Sql } from './client.js';

export interface Revocation {
  serial: string;
  playerKey: string;
  /** After this the entry may leave the CRL (the certificate is refused as expired anyway). */
  certExpiresAt: Date | null;
}

/** Records revocations (a serial already recorded stays as it was). */
export async function recordRevocations(sql: Queryable, entries: readonly Revocation[]): Promise<void> {
  for (const e of entries) {
    await sql`
      insert into revoked_certificates (serial, player_key, cert_expires_at)
      values (${e.serial}, ${e.playerKey}, ${e.certExpiresAt})
      on conflict (serial) do nothing`;
  }
}

export interface CrlEntry {
  serial: string;
  revoked_at: Date;
}

/**
 * The entries the CRL must list: every revoked certificate that has not expired yet (with a day
 * of margin for clock differences between this server and the broker).
 */
export async function listCrlEntries(sql: Queryable): Promise<CrlEntry[]> {
  return sql<CrlEntry[]>`
    select serial, revoked_at from revoked_certificates
    where cert_expires_at is null or cert_expires_at > now() - interval '1 day'
    order by revoked_at, serial`;
}

/** Any constant; "crl-lock" in ASCII. */
const CRL_LOCK_KEY = 0x63726c2d6c6f636bn;

/**
 * Runs `fn` while holding a cluster-wide lock (a transaction-level advisory lock), so that two
 * server instances never interleave "write the CRL, SIGHUP, wait for the reload". `fn` gets the
 * transaction (use it for queries: the pool may have a single connection).
 */
export async function withCrlLock<T>(sql: Sql, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${CRL_LOCK_KEY.toString()}::bigint)`;
    return fn(tx);
  }) as Promise<T>;
}
