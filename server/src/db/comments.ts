// SQL about writing comments. Threads are at most depth 2; the composite foreign key
// (parent_id, post_id, parent_depth) makes the database refuse a reply on another post or at the
// wrong depth (Constraints.commentsParent), so the handler's checks cannot be raced past.
import { CommentBounds } from '@makapix/contract/components/post';
import type { Queryable } from './client.js';

export const MAX_COMMENT_DEPTH = CommentBounds.depth.maximum;

export interface CommentRow {
  comment_id: string;
  post_id: number;
  author_id: number | null;
  author_handle: string | null;
  parent_id: string | null;
  depth: number;
  body: string;
  deleted: boolean;
  hidden_by_mod: boolean;
  created_at: Date;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function findComment(sql: Queryable, commentId: string): Promise<CommentRow | null> {
  if (!UUID.test(commentId)) return null;
  const rows = await sql<CommentRow[]>`
    select c.comment_id, c.post_id, c.author_id, u.handle as author_handle, c.parent_id, c.depth,
           c.body, c.deleted, c.hidden_by_mod, c.created_at
    from comments c left join users u on u.id = c.author_id
    where c.comment_id = ${commentId}`;
  return rows[0] ?? null;
}

export interface NewComment {
  postId: number;
  authorId: number | null;
  /** Null for a top-level comment. */
  parentId: string | null;
  /** 0 for a top-level comment, else the parent's depth + 1. */
  depth: number;
  body: string;
}

export async function insertComment(sql: Queryable, c: NewComment): Promise<CommentRow> {
  const [row] = await sql<CommentRow[]>`
    with c as (
      insert into comments (post_id, author_id, parent_id, depth, body)
      values (${c.postId}, ${c.authorId}, ${c.parentId}, ${c.depth}, ${c.body})
      returning comment_id, post_id, author_id, parent_id, depth, body, deleted, hidden_by_mod, created_at
    )
    select c.*, u.handle as author_handle from c left join users u on u.id = c.author_id`;
  return row!;
}
