// Idempotency of MQTT requests: the first answer stored for (player_key, request_id) is the answer.
// A redelivered request (the firmware republishes after 10 s, up to 3 times) gets the stored
// answer and changes nothing again. Records are purged by age.
import type postgres from 'postgres';
import type { Queryable } from './client.js';

/** Any JSON response body. */
export type StoredResponse = Record<string, unknown>;

/** The stored response, or null when the request has not been answered yet. */
export async function lookup(sql: Queryable, playerKey: string, requestId: string): Promise<StoredResponse | null> {
  const [row] = await sql<{ response: StoredResponse }[]>`
    select response from mqtt_requests where player_key = ${playerKey} and request_id = ${requestId}`;
  return row ? row.response : null;
}

/**
 * Stores `response` unless an answer is already stored, and returns the stored answer: callers
 * must send what this returns, so two concurrent handlers of one request publish the same reply.
 * Run it in the transaction that applied the request's effects, so that effects and answer
 * commit together. (If another transaction holds an uncommitted answer, this waits for it.)
 */
export async function remember(
  sql: Queryable,
  playerKey: string,
  requestId: string,
  response: StoredResponse,
): Promise<StoredResponse> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const [row] = await sql<{ response: StoredResponse }[]>`
      with ins as (
        insert into mqtt_requests (player_key, request_id, response)
        values (${playerKey}, ${requestId}, ${sql.json(response as postgres.JSONValue)})
        on conflict (player_key, request_id) do nothing
        returning response
      )
      select response from ins
      union all
      select response from mqtt_requests where player_key = ${playerKey} and request_id = ${requestId}
      limit 1`;
    if (row) return row.response;
    // The conflicting row was committed by another transaction after this statement's snapshot
    // was taken: the next statement sees it.
  }
  const stored = await lookup(sql, playerKey, requestId);
  if (stored) return stored;
  throw new Error(`idempotency record for request ${requestId} vanished while being read`);
}

/**
 * `remember` for many requests in one statement (answers computed outside a transaction, e.g.
 * reads). Returns the stored answer per item, in order; an item whose request was answered
 * meanwhile gets the earlier answer, as with `remember`.
 */
export async function rememberBatch(
  sql: Queryable,
  items: readonly { playerKey: string; requestId: string; response: StoredResponse }[],
): Promise<StoredResponse[]> {
  // One jsonb parameter (one JSON.stringify) instead of a jsonb[] array literal, whose escaping
  // of every quote in every answer was a visible part of the server's CPU profile.
  const rows = items.map((x) => [x.playerKey, x.requestId, x.response]);
  const inserted = await sql<{ player_key: string; request_id: string }[]>`
    insert into mqtt_requests (player_key, request_id, response)
    select (e->>0)::uuid, e->>1, e->2 from jsonb_array_elements(${sql.json(rows as never)}) as e
    on conflict (player_key, request_id) do nothing
    returning player_key, request_id`;
  const done = new Set(inserted.map((r) => `${r.player_key}|${r.request_id}`));
  // the first item of an inserted key is the stored answer; any other (a duplicate in the same
  // batch, or a request answered before) gets what is stored
  return Promise.all(items.map((x) => {
    const key = `${x.playerKey.toLowerCase()}|${x.requestId}`;
    if (done.delete(key)) return x.response;
    return remember(sql, x.playerKey, x.requestId, x.response);
  }));
}

/** Deletes records older than `maxAgeSeconds` (default 1 day; redeliveries stop after ~40 s). */
export async function purgeOldRequests(sql: Queryable, maxAgeSeconds = 86_400): Promise<number> {
  const res = await sql`
    delete from mqtt_requests where created_at < now() - make_interval(secs => ${maxAgeSeconds})`;
  return res.count;
}
