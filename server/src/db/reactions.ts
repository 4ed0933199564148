// Emoji reactions of users on posts. At most 5 different emoji per (post, user): the trigger of
// migration 0001 raises constraint reactions_per_user_post_limit (see Constraints.reactionLimit).
import type { Queryable } from './client.js';

export interface ReactionChange {
  postId: number;
  /** users.id of the reacting user. */
  userId: number;
  emoji: string;
  moderator: boolean;
}

export type AddReactionOutcome = 'added' | 'already_present' | 'not_found';

/** Adds a reaction (a no-op when present). Throws the trigger's error when it would be the 6th. */
export async function addReaction(sql: Queryable, r: ReactionChange): Promise<AddReactionOutcome> {
  const visible = r.moderator
    ? sql`not p.deleted`
    : sql`not p.deleted and ((p.visible and not p.hidden_by_mod and not p.non_conformant) or p.owner_id = ${r.userId})`;
  const [row] = await sql<{ found: boolean; inserted: number }[]>`
    with post as (
      select p.post_id from posts p where p.post_id = ${r.postId} and ${visible}
    ),
    ins as (
      insert into reactions (post_id, user_id, emoji)
      select post.post_id, ${r.userId}, ${r.emoji} from post
      on conflict (post_id, user_id, emoji) do nothing
      returning 1
    )
    select exists (select 1 from post) as found, (select count(*) from ins)::int as inserted`;
  if (!row!.found) return 'not_found';
  return row!.inserted > 0 ? 'added' : 'already_present';
}

/** Removes a reaction; true when one was there. Unknown posts and absent reactions change nothing. */
export async function removeReaction(sql: Queryable, r: Omit<ReactionChange, 'moderator'>): Promise<boolean> {
  const res = await sql`
    delete from reactions where post_id = ${r.postId} and user_id = ${r.userId} and emoji = ${r.emoji}`;
  return res.count > 0;
}
