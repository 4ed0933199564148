// query_posts: pages of post summaries for players, with keyset pagination.
//
// Orders (every one total, so that a keyset position is exact):
//   server_order  post_id desc
//   created_at    created_at desc, post_id desc            (position: exact microsecond text + id)
//   random        hashint8extended(post_id, seed), post_id  (a stable shuffle per seed; position:
//                                                            the hash as text + id)
//   reacted_at    the user's latest reaction on the post desc, post_id desc (channel reactions
//                 only; position: exact microsecond text + id). A post the user reacts to again
//                 moves up; a walk in progress does not list it twice.
// New posts get higher ids and later times, so they land before a server_order/created_at position:
// walking pages never repeats or skips a post that existed when the walk began. Under random, a
// new post lands anywhere: it shows up if its place is still ahead, and nothing repeats.
//
// Visibility: the "listable" predicate is written out literally so the planner can use the
// partial indexes posts_listable_*; moderators see every post that is not deleted.
// Channels (1.1): artwork is every post (every post is an artwork today); hashtag uses the GIN
// index posts_hashtags_idx; reactions lists the posts a user reacted to.
import type { QueryPostsChannel, QueryPostsSort } from '@makapix/contract/asyncapi/schemas';
import { Coalescer } from '../services/coalescer.js';
import type { Queryable } from './client.js';

/** Where the previous page ended (from a validated cursor). */
/** What a position holds for each sort (a sort the spec adds fails to compile until it has one). */
interface PositionFields {
  server_order: { postId: number };
  created_at: { createdAt: string; postId: number };
  random: { rank: string; postId: number };
  reacted_at: { reactedAt: string; postId: number };
}
export type FeedPosition = { [S in QueryPostsSort]: { sort: S } & PositionFields[S] }[QueryPostsSort];

export interface FeedQuery {
  channel: QueryPostsChannel;
  /** users.id whose posts to list (channels user and by_user). */
  ownerId?: number;
  /** users.id whose reactions to list (channel reactions, which needs sort reacted_at). */
  reactorId?: number;
  /** The stored form of the hashtag (channel hashtag). */
  hashtag?: string;
  sort: QueryPostsSort;
  /** Seed of the random order (0..2^32-1). */
  seed?: number;
  after?: FeedPosition;
  /** Number of rows to fetch (callers ask one more than the page size to learn has_more). */
  limit: number;
  moderator: boolean;
}

export interface FeedRow {
  post_id: number;
  storage_key: string;
  title: string;
  art_url: string;
  canvas: string;
  width: number;
  height: number;
  frame_count: number;
  has_transparency: boolean;
  owner_handle: string;
  created_at: Date;
  /** Format of the vault file, or null for a post whose art_url points outside the vault. */
  native_format: string | null;
  /** When the vault file was stored, else the post's creation. */
  artwork_modified_at: Date;
  /**
   * created_at as exact UTC text with microseconds (the created_at position). It goes back into SQL
   * as text (`::text::timestamptz`): a timestamptz parameter would pass through a JS Date and lose
   * the microseconds.
   */
  created_key: string;
  /** The random order's rank as text (int8; may exceed 2^53), or null for the other sorts. */
  rank: string | null;
  /** The reacted_at position as exact UTC text with microseconds, or null for the other sorts. */
  reacted_key: string | null;
}

/** The columns of a FeedRow, from posts `p`, users `u` and vault_objects `vo` (left joined). */
function rowColumns(sql: Queryable) {
  return sql`p.post_id, p.storage_key, p.title, p.art_url, p.canvas, p.width, p.height, p.frame_count,
           p.has_transparency, u.handle as owner_handle, p.created_at, p.native_format,
           coalesce(vo.created_at, p.created_at) as artwork_modified_at,
           to_char(p.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_key`;
}

/**
 * One post as a player may see it (get_post): not deleted, and listable unless it is the viewer's
 * own or the viewer is a moderator. Null otherwise.
 */
export async function findPlayerPost(sql: Queryable, postId: number, viewer: { ownerId: number; moderator: boolean }): Promise<FeedRow | null> {
  const visible = viewer.moderator
    ? sql`not p.deleted`
    : sql`not p.deleted and ((p.visible and not p.hidden_by_mod and not p.non_conformant) or p.owner_id = ${viewer.ownerId})`;
  const rows = await sql<FeedRow[]>`
    select ${rowColumns(sql)}, null::text as rank, null::text as reacted_key
    from posts p
    join users u on u.id = p.owner_id
    left join vault_objects vo on vo.storage_key = p.storage_key
    where p.post_id = ${postId} and ${visible}`;
  return rows[0] ?? null;
}

/** The channel reactions: posts `reactorId` reacted to, by their latest reaction, newest first. */
async function queryReactions(sql: Queryable, q: FeedQuery): Promise<FeedRow[]> {
  if (q.reactorId === undefined) throw new Error('feed channel reactions needs reactorId');
  if (q.sort !== 'reacted_at') throw new Error(`feed channel reactions is ordered by reacted_at (got sort ${q.sort})`);
  const after = q.after;
  if (after !== undefined && after.sort !== 'reacted_at') throw new Error(`feed position of sort ${after.sort} used with sort reacted_at`);
  const visible = q.moderator
    ? sql`not p.deleted`
    : sql`p.visible and not p.hidden_by_mod and not p.non_conformant and not p.deleted`;
  const keyset = after === undefined
    ? sql``
    : sql`having (max(r.created_at), r.post_id) < (${after.reactedAt}::text::timestamptz, ${after.postId}::bigint)`;
  return sql<FeedRow[]>`
    with page as (
      select r.post_id, max(r.created_at) as reacted_at
      from reactions r
      join posts p on p.post_id = r.post_id
      where r.user_id = ${q.reactorId} and ${visible}
      group by r.post_id
      ${keyset}
      order by reacted_at desc, r.post_id desc
      limit ${q.limit}
    )
    select ${rowColumns(sql)}, null::text as rank,
           to_char(page.reacted_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as reacted_key
    from page
    join posts p on p.post_id = page.post_id
    join users u on u.id = p.owner_id
    left join vault_objects vo on vo.storage_key = p.storage_key
    order by page.reacted_at desc, p.post_id desc`;
}

/** users.id of the user with this handle (case-insensitive), or null. */
export async function findUserIdByHandle(sql: Queryable, handle: string): Promise<number | null> {
  const rows = await sql<{ id: number }[]>`select id from users where lower(handle) = lower(${handle})`;
  return rows[0]?.id ?? null;
}

export async function queryFeed(sql: Queryable, q: FeedQuery): Promise<FeedRow[]> {
  if (!Number.isInteger(q.limit) || q.limit < 1) throw new RangeError(`feed limit must be a positive integer (got ${q.limit})`);
  if ((q.channel === 'user' || q.channel === 'by_user') && q.ownerId === undefined) {
    throw new Error(`feed channel ${q.channel} needs ownerId`);
  }
  if (q.channel === 'reactions') return queryReactions(sql, q);
  if (q.sort === 'reacted_at') throw new Error(`feed sort reacted_at needs channel reactions (got ${q.channel})`);
  if (q.channel === 'hashtag' && q.hashtag === undefined) throw new Error('feed channel hashtag needs hashtag');
  const seed = String(q.seed ?? 0);
  const visible = q.moderator
    ? sql`not p.deleted`
    : sql`p.visible and not p.hidden_by_mod and not p.non_conformant and not p.deleted`;
  const channel =
    q.channel === 'promoted' ? sql`and p.promoted_category is not null`
    : q.channel === 'user' || q.channel === 'by_user' ? sql`and p.owner_id = ${q.ownerId!}`
    : q.channel === 'hashtag' ? sql`and p.hashtags @> array[${q.hashtag!}]::text[]`
    : sql``; // all, and artwork (every post is an artwork)
  const rank = q.sort === 'random' ? sql`hashint8extended(p.post_id, ${seed}::bigint)` : sql`null::bigint`;
  const after = q.after;
  if (after !== undefined && after.sort === 'reacted_at') throw new Error('feed position of sort reacted_at used without channel reactions');
  const keyset =
    after === undefined ? sql``
    : after.sort === 'server_order' ? sql`and p.post_id < ${after.postId}`
    : after.sort === 'created_at' ? sql`and (p.created_at, p.post_id) < (${after.createdAt}::text::timestamptz, ${after.postId}::bigint)`
    : sql`and (hashint8extended(p.post_id, ${seed}::bigint), p.post_id) > (${after.rank}::bigint, ${after.postId}::bigint)`;
  if (after !== undefined && after.sort !== q.sort) throw new Error(`feed position of sort ${after.sort} used with sort ${q.sort}`);
  const innerOrder =
    q.sort === 'server_order' ? sql`order by p.post_id desc`
    : q.sort === 'created_at' ? sql`order by p.created_at desc, p.post_id desc`
    : sql`order by rank, p.post_id`;
  const outerOrder =
    q.sort === 'server_order' ? sql`order by p.post_id desc`
    : q.sort === 'created_at' ? sql`order by p.created_at desc, p.post_id desc`
    : sql`order by page.rank, p.post_id`;
  // The page is chosen from posts alone (an index scan, or for random a scan of the ids with a
  // top-N sort); only its rows are then joined to their columns and owners.
  return sql<FeedRow[]>`
    with page as (
      select p.post_id, ${rank} as rank
      from posts p
      where ${visible} ${channel} ${keyset}
      ${innerOrder}
      limit ${q.limit}
    )
    select ${rowColumns(sql)}, page.rank::text as rank, null::text as reacted_key
    from page
    join posts p on p.post_id = page.post_id
    join users u on u.id = p.owner_id
    left join vault_objects vo on vo.storage_key = p.storage_key
    ${outerOrder}`;
}

const coalescers = new WeakMap<object, Coalescer<readonly FeedRow[]>>();

/**
 * queryFeed where identical queries arriving together (many players asking for the same first page)
 * share one statement (see Coalescer: each caller still sees the writes committed before it asked).
 * The rows are shared between callers: read-only.
 */
export function queryFeedCoalesced(sql: Queryable, q: FeedQuery): Promise<readonly FeedRow[]> {
  let c = coalescers.get(sql);
  if (!c) coalescers.set(sql, (c = new Coalescer()));
  const key = JSON.stringify(q); // every field of the query: equal keys, equal statements
  return c.run(key, () => queryFeed(sql, q));
}
