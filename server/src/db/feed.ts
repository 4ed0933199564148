// query_posts: pages of post summaries for players, with keyset pagination.
//
// Orders (every one total, so that a keyset position is exact):
//   server_order  post_id desc
//   created_at    created_at desc, post_id desc            (position: exact microsecond text + id)
//   random        hashint8extended(post_id, seed), post_id  (a stable shuffle per seed; position:
//                                                            the hash as text + id)
// New posts get higher ids and later times, so they land before a server_order/created_at position:
// walking pages never repeats or skips a post that existed when the walk began. Under random, a
// new post lands anywhere: it shows up if its place is still ahead, and nothing repeats.
//
// Visibility: the "listable" predicate is written out literally so the planner can use the
// partial indexes posts_listable_*; moderators see every post that is not deleted.
import type { QueryPostsChannel, QueryPostsSort } from '../../../generated/asyncapi/schemas.js';
import { Coalescer } from '../services/coalescer.js';
import type { Queryable } from './client.js';

/** Where the previous page ended (from a validated cursor). */
/** What a position holds for each sort (a sort the spec adds fails to compile until it has one). */
interface PositionFields {
  server_order: { postId: number };
  created_at: { createdAt: string; postId: number };
  random: { rank: string; postId: number };
}
export type FeedPosition = { [S in QueryPostsSort]: { sort: S } & PositionFields[S] }[QueryPostsSort];

export interface FeedQuery {
  channel: QueryPostsChannel;
  /** users.id whose posts to list (channels user and by_user). */
  ownerId?: number;
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
  /**
   * created_at as exact UTC text with microseconds (the created_at position). It goes back into SQL
   * as text (`::text::timestamptz`): a timestamptz parameter would pass through a JS Date and lose
   * the microseconds.
   */
  created_key: string;
  /** The random order's rank as text (int8; may exceed 2^53), or null for the other sorts. */
  rank: string | null;
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
  const seed = String(q.seed ?? 0);
  const visible = q.moderator
    ? sql`not p.deleted`
    : sql`p.visible and not p.hidden_by_mod and not p.non_conformant and not p.deleted`;
  const channel =
    q.channel === 'promoted' ? sql`and p.promoted_category is not null`
    : q.channel === 'user' || q.channel === 'by_user' ? sql`and p.owner_id = ${q.ownerId!}`
    : sql``;
  const rank = q.sort === 'random' ? sql`hashint8extended(p.post_id, ${seed}::bigint)` : sql`null::bigint`;
  const after = q.after;
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
    select p.post_id, p.storage_key, p.title, p.art_url, p.canvas, p.width, p.height, p.frame_count,
           p.has_transparency, u.handle as owner_handle, p.created_at,
           to_char(p.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_key,
           page.rank::text as rank
    from page
    join posts p on p.post_id = page.post_id
    join users u on u.id = p.owner_id
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
