// SQL about posts (create, read, soft-delete, promote). Rows carry the owner's public identity
// (user_id, handle) so that handlers and notifications need no second query.
import type { PromotionCategory } from '@makapix/contract/components/identifiers';
import type { NativeFormat } from '../vault/formats.js';
import type { Queryable } from './client.js';

export interface PostRow {
  post_id: number;
  storage_key: string;
  /** Internal id of the owner (users.id). */
  owner_id: number;
  /** Public id of the owner (users.user_id). */
  owner_user_id: string;
  owner_handle: string;
  title: string;
  art_url: string;
  canvas: string;
  width: number;
  height: number;
  frame_count: number;
  has_transparency: boolean;
  visible: boolean;
  hidden_by_mod: boolean;
  non_conformant: boolean;
  deleted: boolean;
  promoted_category: PromotionCategory | null;
  promoted_at: Date | null;
  created_at: Date;
  description: string | null;
  /** Lower-case, without '#'. */
  hashtags: string[];
  /** Format of the post's file in the vault; null when art_url points elsewhere. */
  native_format: NativeFormat | null;
}

export interface NewPost {
  ownerId: number;
  title: string;
  artUrl: string;
  canvas: string;
  width: number;
  height: number;
  frameCount: number;
  hasTransparency: boolean;
  /** Chosen by the caller for a vault upload (its file is written under it first); else generated. */
  storageKey?: string;
  description?: string | null;
  hashtags?: string[];
  nativeFormat?: NativeFormat | null;
}

/** True when anyone may see the post (what listings show). */
export function isListable(p: Pick<PostRow, 'visible' | 'hidden_by_mod' | 'non_conformant' | 'deleted'>): boolean {
  return p.visible && !p.hidden_by_mod && !p.non_conformant && !p.deleted;
}

export async function insertPost(sql: Queryable, p: NewPost): Promise<PostRow> {
  const [row] = await sql<PostRow[]>`
    with p as (
      insert into posts (storage_key, owner_id, title, art_url, canvas, width, height, frame_count, has_transparency,
                         description, hashtags, native_format)
      values (coalesce(${p.storageKey ?? null}::uuid, gen_random_uuid()), ${p.ownerId}, ${p.title}, ${p.artUrl}, ${p.canvas},
              ${p.width}, ${p.height}, ${p.frameCount}, ${p.hasTransparency},
              ${p.description ?? null}, ${p.hashtags ?? []}::text[], ${p.nativeFormat ?? null})
      returning *
    )
    select p.*, u.user_id as owner_user_id, u.handle as owner_handle
    from p join users u on u.id = p.owner_id`;
  return row!;
}

/** The post, deleted or not, or null. */
export async function findPost(sql: Queryable, postId: number): Promise<PostRow | null> {
  const rows = await sql<PostRow[]>`
    select p.*, u.user_id as owner_user_id, u.handle as owner_handle
    from posts p join users u on u.id = p.owner_id
    where p.post_id = ${postId}`;
  return rows[0] ?? null;
}

/** Marks the post deleted. Returns false when it does not exist or was already deleted. */
export async function softDeletePost(sql: Queryable, postId: number): Promise<boolean> {
  const res = await sql`update posts set deleted = true where post_id = ${postId} and not deleted`;
  return res.count > 0;
}

/**
 * Sets the post's category (and promoted_at) unless it already has this one. Returns the updated
 * post, or null when nothing changed (unknown or deleted post, or the same category already):
 * concurrent promotions to one category change the row, and thus notify, once.
 */
export async function promotePost(sql: Queryable, postId: number, category: PromotionCategory): Promise<PostRow | null> {
  const rows = await sql<PostRow[]>`
    with p as (
      update posts set promoted_category = ${category}, promoted_at = now()
      where post_id = ${postId} and not deleted and visible and not hidden_by_mod and not non_conformant
        and promoted_category is distinct from ${category}
      returning *
    )
    select p.*, u.user_id as owner_user_id, u.handle as owner_handle
    from p join users u on u.id = p.owner_id`;
  return rows[0] ?? null;
}
