// The request connections of the server instances (migration 0010): a heartbeat per client id, and
// the claim of one that went silent (see mqtt/session-takeover.ts).
import type { Queryable } from './client.js';

/** This instance is alive: its row's seen_at is now. */
export async function heartbeat(sql: Queryable, clientId: string, sessionExpirySeconds: number): Promise<void> {
  await sql`
    insert into request_sessions (client_id, seen_at, session_expiry_seconds)
    values (${clientId}, now(), ${sessionExpirySeconds})
    on conflict (client_id) do update set seen_at = now(), session_expiry_seconds = excluded.session_expiry_seconds`;
}

/**
 * Claims (deletes) the row of another instance silent for more than `silentSeconds` whose session
 * may still be kept by the broker (silent for less than its expiry), and returns its client id;
 * null when there is none. Rows of sessions that have surely expired are deleted on the way.
 * Concurrent claimers get different rows (or none).
 */
export async function claimSilent(sql: Queryable, ownClientId: string, silentSeconds: number): Promise<string | null> {
  await sql`delete from request_sessions where seen_at + make_interval(secs => session_expiry_seconds) < now()`;
  const rows = await sql<{ client_id: string }[]>`
    delete from request_sessions where client_id = (
      select client_id from request_sessions
      where client_id <> ${ownClientId} and seen_at < now() - make_interval(secs => ${silentSeconds})
      order by seen_at
      limit 1
      for update skip locked
    )
    returning client_id`;
  return rows[0]?.client_id ?? null;
}
