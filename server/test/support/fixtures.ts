// Test fixtures written straight to the database (tests only): users (with a valid bearer token,
// so REST calls work for them), posts, comments, follows. Faster than going through REST (no
// password hashing) and able to create states REST cannot (hidden, non-conformant, old posts).
import { randomUUID } from 'node:crypto';
import type { NativeFormat, PromotedCategory } from '@makapix/contract/components/identifiers';
import { signToken } from '../../src/auth/index.js';
import type { Queryable } from '../../src/db/index.js';
import { encodeUserId } from '../../src/ids/sqid.js';
import { uniqueHandle, type Stack, type TestUser } from './stack.js';

export interface FixtureUser extends TestUser {
  /** users.id (internal). */
  id: number;
}

/** A user inserted directly (password hash is a placeholder: this user cannot log in). */
export async function createUser(stack: Stack, opts: { handle?: string; moderator?: boolean } = {}): Promise<FixtureUser> {
  const handle = opts.handle ?? uniqueHandle('fx');
  const roles = opts.moderator ? ['moderator'] : [];
  const sql = stack.server.ctx.sql;
  const [row] = await sql<{ id: number; user_id: string }[]>`
    insert into users (handle, email, password_hash, roles)
    values (${handle}, ${`${handle.toLowerCase()}@fixture.test`}, 'fixture:no-login', ${roles}::text[])
    returning id, user_id`;
  const { token } = signToken(stack.config.auth.jwtSecret, { sub: row!.user_id, ttlSeconds: 3600 });
  return { id: row!.id, user_id: row!.user_id, sqid: encodeUserId(row!.id), handle, token };
}

export interface PostInput {
  title?: string;
  art_url?: string;
  canvas?: string;
  width?: number;
  height?: number;
  frame_count?: number;
  has_transparency?: boolean;
  visible?: boolean;
  hidden_by_mod?: boolean;
  non_conformant?: boolean;
  deleted?: boolean;
  promoted_category?: PromotedCategory;
  created_at?: Date;
  /** Stored form (lower-case, no '#'). */
  hashtags?: string[];
  native_format?: NativeFormat | null;
}

export interface PostFixture {
  post_id: number;
  storage_key: string;
  title: string;
  created_at: Date;
}

/** Inserts one post; returns its id, storage key, title and creation time. */
export async function createPost(sql: Queryable, ownerId: number, input: PostInput = {}): Promise<PostFixture> {
  const storageKey = randomUUID();
  const [row] = await sql<PostFixture[]>`
    insert into posts (owner_id, storage_key, title, art_url, canvas, width, height, frame_count, has_transparency,
                       visible, hidden_by_mod, non_conformant, deleted, promoted_category, promoted_at, created_at,
                       hashtags, native_format)
    values (${ownerId}, ${storageKey}, ${input.title ?? `Post ${storageKey.slice(0, 8)}`},
            ${input.art_url ?? `https://cdn.example.test/art/${storageKey}.png`},
            ${input.canvas ?? '64x64'}, ${input.width ?? 64}, ${input.height ?? 64}, ${input.frame_count ?? 1},
            ${input.has_transparency ?? false}, ${input.visible ?? true}, ${input.hidden_by_mod ?? false},
            ${input.non_conformant ?? false}, ${input.deleted ?? false}, ${input.promoted_category ?? null},
            ${input.promoted_category ? new Date() : null}, ${input.created_at ?? new Date()},
            ${input.hashtags ?? []}::text[], ${input.native_format ?? null})
    returning post_id, storage_key, title, created_at`;
  return row!;
}

/** Inserts `n` posts one after the other (ascending ids); `each(i)` customises post i. */
export async function createPosts(sql: Queryable, ownerId: number, n: number, each: (i: number) => PostInput = () => ({})): Promise<PostFixture[]> {
  const out: PostFixture[] = [];
  for (let i = 0; i < n; i++) out.push(await createPost(sql, ownerId, each(i)));
  return out;
}

export interface CommentInput {
  postId: number;
  /** users.id of the author; null for an anonymous comment. */
  authorId: number | null;
  /** The comment replied to (depth is its depth + 1). */
  parent?: { comment_id: string; depth: number };
  body?: string;
  deleted?: boolean;
  hidden_by_mod?: boolean;
  created_at?: Date;
}

export interface CommentFixture {
  comment_id: string;
  depth: number;
  created_at: Date;
}

export async function createComment(sql: Queryable, c: CommentInput): Promise<CommentFixture> {
  const depth = c.parent ? c.parent.depth + 1 : 0;
  const [row] = await sql<CommentFixture[]>`
    insert into comments (post_id, author_id, parent_id, depth, body, deleted, hidden_by_mod, created_at)
    values (${c.postId}, ${c.authorId}, ${c.parent?.comment_id ?? null}, ${depth}, ${c.body ?? 'a comment'},
            ${c.deleted ?? false}, ${c.hidden_by_mod ?? false}, ${c.created_at ?? new Date()})
    returning comment_id, depth, created_at`;
  return row!;
}

export async function createFollow(sql: Queryable, followerId: number, followeeId: number): Promise<void> {
  await sql`insert into follows (follower_id, followee_id) values (${followerId}, ${followeeId}) on conflict do nothing`;
}
