// Players as the MQTT side sees them: who is asking (one query for the requests arriving
// together: the player, its owner, the owner's moderator flag and any stored answer to each
// request id), status updates written in batches, and the presence sweep.
import type { ConnectionStatus } from '@makapix/contract/components/identifiers';
import type { Queryable } from './client.js';

export interface PlayerAuth {
  registered: boolean;
  /** Internal id of the owner (users.id), or null. */
  ownerId: number | null;
  /** The owner's public user_id (UUID), or null. */
  ownerUserId: string | null;
  isModerator: boolean;
  /** The answer already stored for this (player_key, request_id), if any. */
  stored: Record<string, unknown> | null;
}

/**
 * For each (playerKey, requestId): the player, its owner, the owner's moderator flag and the answer
 * already stored for that request; null where no such player exists. One statement for all items,
 * results in the order of `items`.
 */
export async function findPlayerAuthBatch(sql: Queryable, items: readonly { playerKey: string; requestId: string }[]): Promise<(PlayerAuth | null)[]> {
  const rows = await sql<{
    i: number;
    registration_status: string;
    owner_id: number | null;
    owner_user_id: string | null;
    is_moderator: boolean | null;
    stored: Record<string, unknown> | null;
  }[]>`
    select q.i::int as i, pl.registration_status, u.id as owner_id, u.user_id as owner_user_id,
           'moderator' = any(u.roles) as is_moderator, r.response as stored
    from unnest(${items.map((x) => x.playerKey)}::uuid[], ${items.map((x) => x.requestId)}::text[]) with ordinality as q(player_key, request_id, i)
    join players pl on pl.player_key = q.player_key
    left join users u on u.id = pl.owner_id
    left join mqtt_requests r on r.player_key = pl.player_key and r.request_id = q.request_id`;
  const out: (PlayerAuth | null)[] = items.map(() => null);
  for (const row of rows) {
    out[row.i - 1] = {
      registered: row.registration_status === 'registered',
      ownerId: row.owner_id,
      ownerUserId: row.owner_user_id,
      isModerator: row.is_moderator === true,
      stored: row.stored,
    };
  }
  return out;
}

export interface StatusUpdate {
  playerKey: string;
  status: ConnectionStatus;
  /** undefined: keep the stored value; null: nothing shown. */
  currentPostId?: number | null;
  /** undefined: keep the stored value. */
  firmwareVersion?: string;
}

/**
 * Applies status updates (at most one per player) with one statement; last_seen_at becomes the
 * database's now(). Unknown and unregistered players are left alone. Rows are locked in key
 * order so that concurrent batches (several instances) cannot deadlock. Returns the rows changed.
 */
export async function applyStatusBatch(sql: Queryable, updates: readonly StatusUpdate[]): Promise<number> {
  if (updates.length === 0) return 0;
  const sorted = [...updates].sort((a, b) => (a.playerKey < b.playerKey ? -1 : a.playerKey > b.playerKey ? 1 : 0));
  const keys = sorted.map((u) => u.playerKey);
  const statuses = sorted.map((u) => u.status);
  // As text: postgres.js does not serialize JS boolean arrays as boolean[].
  const setPost = sorted.map((u) => (u.currentPostId !== undefined ? 'true' : 'false'));
  const posts = sorted.map((u) => (u.currentPostId === undefined || u.currentPostId === null ? null : String(u.currentPostId)));
  const firmware = sorted.map((u) => u.firmwareVersion ?? null);
  const res = await sql`
    with v as (
      select * from unnest(${keys}::uuid[], ${statuses}::text[], ${setPost}::text[]::boolean[], ${posts}::bigint[], ${firmware}::text[])
        as v(player_key, status, set_post, post_id, firmware)
    ),
    locked as (
      select p.id from players p
      where p.player_key in (select player_key from v) and p.registration_status = 'registered'
      order by p.player_key
      for update
    )
    update players p
    set connection_status = v.status,
        last_seen_at = now(),
        current_post_id = case when v.set_post then v.post_id else p.current_post_id end,
        firmware_version = coalesce(v.firmware, p.firmware_version)
    from v, locked
    where p.id = locked.id and p.player_key = v.player_key`;
  return res.count;
}

/** Marks online players silent for more than `silenceSeconds` offline. Returns how many. */
export async function markSilentPlayersOffline(sql: Queryable, silenceSeconds: number): Promise<number> {
  const res = await sql`
    update players set connection_status = 'offline'
    where connection_status = 'online'
      and (last_seen_at is null or last_seen_at < now() - make_interval(secs => ${silenceSeconds}))`;
  return res.count;
}
