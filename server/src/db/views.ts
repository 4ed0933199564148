// View events recorded for players (submit_view). Never the raw player key or an IP: the viewer
// is identified by a keyed hash computed by the caller, and a redelivered request cannot count
// twice because its dedupe_key is unique.
import type { Queryable } from './client.js';

export interface PlayerView {
  postId: number;
  /** users.id of the viewer (the player's owner). */
  viewerId: number;
  viewerHash: string;
  viewType: 'intentional' | 'listing';
  /** Unique per request (a keyed hash of player_key and request_id). */
  dedupeKey: string;
  moderator: boolean;
}

export type ViewOutcome = 'recorded' | 'duplicate' | 'own_post' | 'not_found';

/** Records one view of a post by another user's player, in one statement. */
export async function recordPlayerView(sql: Queryable, v: PlayerView): Promise<ViewOutcome> {
  const visible = v.moderator
    ? sql`not p.deleted`
    : sql`not p.deleted and ((p.visible and not p.hidden_by_mod and not p.non_conformant) or p.owner_id = ${v.viewerId})`;
  const [row] = await sql<{ found: boolean; own: boolean | null; inserted: number }[]>`
    with post as (
      select p.post_id, p.owner_id from posts p where p.post_id = ${v.postId} and ${visible}
    ),
    ins as (
      insert into view_events (post_id, viewer_user_id, viewer_hash, source, view_type, dedupe_key)
      select post.post_id, ${v.viewerId}, ${v.viewerHash}, 'player', ${v.viewType}, ${v.dedupeKey}
      from post where post.owner_id <> ${v.viewerId}
      on conflict (dedupe_key) do nothing
      returning id
    )
    select exists (select 1 from post) as found,
           (select owner_id = ${v.viewerId} from post) as own,
           (select count(*) from ins)::int as inserted`;
  if (!row!.found) return 'not_found';
  if (row!.own) return 'own_post';
  return row!.inserted > 0 ? 'recorded' : 'duplicate';
}
