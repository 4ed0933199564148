// SQL about web users' WebSocket MQTT credentials (one live credential per user; only a hash of
// the token is stored: the broker's dynamic-security plugin checks the password itself).
//
// Issuing a credential and sweeping expired ones both change the broker; the two are kept apart
// by one advisory lock: issuers take it shared (they run concurrently), the sweep exclusive (it
// never deletes a broker client that an issuer is about to (re)create).
import type { Queryable } from './client.js';

/** Any constant; "web-mqtt" in ASCII. */
const WEB_CREDENTIALS_LOCK_KEY = 0x7765622d6d717474n;

export async function lockForIssue(tx: Queryable): Promise<void> {
  await tx`select pg_advisory_xact_lock_shared(${WEB_CREDENTIALS_LOCK_KEY.toString()}::bigint)`;
}

export async function lockForSweep(tx: Queryable): Promise<void> {
  await tx`select pg_advisory_xact_lock(${WEB_CREDENTIALS_LOCK_KEY.toString()}::bigint)`;
}

export interface WebCredential {
  userId: number;
  username: string;
  tokenHash: string;
  expiresAt: Date;
}

/** Creates or replaces the user's credential (row-locks it until the transaction ends). */
export async function upsertWebCredential(tx: Queryable, c: WebCredential): Promise<void> {
  await tx`
    insert into web_mqtt_credentials (user_id, username, token_hash, expires_at)
    values (${c.userId}, ${c.username}, ${c.tokenHash}, ${c.expiresAt})
    on conflict (user_id) do update set
      username = excluded.username, token_hash = excluded.token_hash,
      expires_at = excluded.expires_at, created_at = now()`;
}

export async function findWebCredential(sql: Queryable, userId: number): Promise<{ username: string; token_hash: string; expires_at: Date } | null> {
  const rows = await sql<{ username: string; token_hash: string; expires_at: Date }[]>`
    select username, token_hash, expires_at from web_mqtt_credentials where user_id = ${userId}`;
  return rows[0] ?? null;
}

/** Deletes the expired credentials; returns their usernames. */
export async function deleteExpiredWebCredentials(tx: Queryable): Promise<string[]> {
  const rows = await tx<{ username: string }[]>`
    delete from web_mqtt_credentials where expires_at <= now() returning username`;
  return rows.map((r) => r.username);
}

/** Of `usernames`, those that hold an unexpired credential. */
export async function liveWebUsernames(tx: Queryable, usernames: readonly string[]): Promise<Set<string>> {
  if (usernames.length === 0) return new Set();
  const rows = await tx<{ username: string }[]>`
    select username from web_mqtt_credentials
    where username = any(${usernames as string[]}::text[]) and expires_at > now()`;
  return new Set(rows.map((r) => r.username));
}

/** Deletes the user's credential (its tokens are ended); true when there was one. */
export async function deleteWebCredential(tx: Queryable, userId: number): Promise<boolean> {
  const res = await tx`delete from web_mqtt_credentials where user_id = ${userId}`;
  return res.count > 0;
}
