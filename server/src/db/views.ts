// View events recorded for players (submit_view, and since 1.1 the view topic). Never the raw
// player key or an IP: the viewer (and, on the view topic, the player) is identified by a keyed
// hash computed by the caller. A redelivered submit_view cannot count twice because its
// dedupe_key is unique; on the view topic a player's repeats of one post within the repeat window
// count once (the window is checked under an advisory lock per player and post, so two copies
// arriving together cannot both count: call it inside a transaction).
import type { Queryable } from './client.js';

export interface PlayerView {
  postId: number;
  /** users.id of the viewer (the player's owner). */
  viewerId: number;
  viewerHash: string;
  viewType: 'intentional' | 'listing';
  /** Unique per request (a keyed hash of player_key and request_id); null on the view topic. */
  dedupeKey: string | null;
  moderator: boolean;
  /**
   * The view topic's repeat rule: no view of this post by this player (keyed hash) recorded in the
   * `windowSeconds` before `at`, else 'repeat'. The event is then recorded at `at`.
   */
  repeat?: { playerHash: string; windowSeconds: number; at: Date };
}

export type ViewOutcome = 'recorded' | 'duplicate' | 'repeat' | 'own_post' | 'not_found';

/** Records one view of a post by another user's player, in one statement (two with the repeat rule's lock). */
export async function recordPlayerView(sql: Queryable, v: PlayerView): Promise<ViewOutcome> {
  const visible = v.moderator
    ? sql`not p.deleted`
    : sql`not p.deleted and ((p.visible and not p.hidden_by_mod and not p.non_conformant) or p.owner_id = ${v.viewerId})`;
  const r = v.repeat;
  if (r) await sql`select pg_advisory_xact_lock(hashtextextended(${`makapix.views:${r.playerHash}:${v.postId}`}, 0))`;
  const notRepeat = r
    ? sql`and not exists (
        select 1 from view_events e
        where e.player_hash = ${r.playerHash} and e.post_id = post.post_id
          and e.created_at > ${r.at}::timestamptz - make_interval(secs => ${r.windowSeconds}))`
    : sql``;
  const [row] = await sql<{ found: boolean; own: boolean | null; inserted: number }[]>`
    with post as (
      select p.post_id, p.owner_id from posts p where p.post_id = ${v.postId} and ${visible}
    ),
    ins as (
      insert into view_events (post_id, viewer_user_id, viewer_hash, source, view_type, dedupe_key, player_hash, created_at)
      select post.post_id, ${v.viewerId}, ${v.viewerHash}, 'player', ${v.viewType}, ${v.dedupeKey}, ${r?.playerHash ?? null},
             ${r ? sql`${r.at}::timestamptz` : sql`now()`}
      from post where post.owner_id <> ${v.viewerId} ${notRepeat}
      on conflict (dedupe_key) do nothing
      returning id
    )
    select exists (select 1 from post) as found,
           (select owner_id = ${v.viewerId} from post) as own,
           (select count(*) from ins)::int as inserted`;
  if (!row!.found) return 'not_found';
  if (row!.own) return 'own_post';
  if (row!.inserted > 0) return 'recorded';
  return r ? 'repeat' : 'duplicate';
}

/** Views counted for a post (view events of every kind; repeats and own views were never recorded). */
export async function countPostViews(sql: Queryable, postId: number): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from view_events where post_id = ${postId}`;
  return row?.n ?? 0;
}
