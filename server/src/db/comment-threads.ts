// get_comments: a post's comments in thread order (each reply right after its parent, siblings
// oldest first), threaded to depth 2, with keyset pagination.
//
// The thread order is the text order (collation "C") of a path: for each ancestor and then the
// comment itself, 20 digits of UTC time (YYYYMMDDHHMISSUS) + the 36-character comment id. Every
// part has a fixed width, so a parent's path is a prefix of its replies' paths and sorts first.
//
// Who sees what:
//   - a comment hidden by a moderator, and every reply below it, is left out unless the viewer
//     is a moderator (a reply without its parent would dangle);
//   - a deleted comment is kept as a placeholder (deleted: true, empty body, no author) only
//     while some reply below it is live (not deleted and visible to the viewer); else left out.
import type { Queryable } from './client.js';

/** Length of one path part; a path has 1..3 parts. */
export const THREAD_PATH_PART_LENGTH = 56;

export interface ThreadQuery {
  postId: number;
  /** Path of the last comment of the previous page. */
  afterPath?: string;
  /** Rows to fetch (callers ask one more than the page size). */
  limit: number;
  moderator: boolean;
  /** users.id of the viewer: their own posts count as found even when not listable. */
  viewerId: number;
}

export interface ThreadRow {
  comment_id: string;
  post_id: number;
  author_handle: string | null;
  body: string;
  depth: number;
  parent_id: string | null;
  created_at: Date;
  deleted: boolean;
  path: string;
}

/** The page, or null when the post does not exist (or is not visible to the viewer). */
export async function threadPage(sql: Queryable, q: ThreadQuery): Promise<ThreadRow[] | null> {
  if (!Number.isInteger(q.limit) || q.limit < 1) throw new RangeError(`thread limit must be a positive integer (got ${q.limit})`);
  const postVisible = q.moderator
    ? sql`not p.deleted`
    : sql`not p.deleted and ((p.visible and not p.hidden_by_mod and not p.non_conformant) or p.owner_id = ${q.viewerId})`;
  const shown = q.moderator
    ? sql``
    : sql`and not c.hidden_by_mod and not coalesce(pa.hidden_by_mod, false) and not coalesce(ga.hidden_by_mod, false)`;
  const liveReply = q.moderator ? sql`not d.deleted` : sql`not d.deleted and not d.hidden_by_mod`;
  const shownReply = q.moderator ? sql`true` : sql`not m.hidden_by_mod`;
  const after = q.afterPath === undefined ? sql`` : sql`and th.path > ${q.afterPath} collate "C"`;
  const rows = await sql<(ThreadRow & { found: number; comment_id: string | null })[]>`
    select post.post_id as found, t.*
    from (select p.post_id from posts p where p.post_id = ${q.postId} and ${postVisible}) post
    left join lateral (
      select * from (
        select c.comment_id, c.post_id, c.depth, c.parent_id, c.created_at, c.deleted,
               case when c.deleted then '' else c.body end as body,
               case when c.deleted then null else au.handle end as author_handle,
               coalesce(to_char(ga.created_at at time zone 'UTC', 'YYYYMMDDHH24MISSUS') || ga.comment_id::text, '')
                 || coalesce(to_char(pa.created_at at time zone 'UTC', 'YYYYMMDDHH24MISSUS') || pa.comment_id::text, '')
                 || to_char(c.created_at at time zone 'UTC', 'YYYYMMDDHH24MISSUS') || c.comment_id::text as path
        from comments c
        left join comments pa on pa.comment_id = c.parent_id
        left join comments ga on ga.comment_id = pa.parent_id
        left join users au on au.id = c.author_id
        where c.post_id = post.post_id ${shown}
          and (not c.deleted
               or exists (select 1 from comments d where d.parent_id = c.comment_id and ${liveReply})
               or exists (select 1 from comments m join comments d on d.parent_id = m.comment_id
                          where m.parent_id = c.comment_id and ${shownReply} and ${liveReply}))
      ) th
      where true ${after}
      order by th.path collate "C"
      limit ${q.limit}
    ) t on true`;
  if (rows.length === 0) return null;
  return rows.filter((r) => r.comment_id !== null).map(({ found: _found, ...r }) => r as ThreadRow);
}
