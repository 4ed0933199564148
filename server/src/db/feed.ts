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
import { Batcher } from '../services/batcher.js';
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

/**
 * What a feed query returns for each post of a page: its id, its position in the sort, and the
 * version of everything its summary is made of. A PostSummary already made from a row of the same
 * version is current (query_posts keeps them), so a page costs only these few columns; the full
 * rows of the posts not known at that version are fetched by id (feedRowsByIds).
 */
export interface FeedEntry {
  post_id: number;
  /**
   * The row versions of the post, its owner and its vault object (`xmin` of each: any change to
   * any field of the summary writes a new row version, so a new value here).
   */
  version: string;
  /** As FeedRow.created_key. */
  created_key: string;
  /** The random order's rank as text (int8; may exceed 2^53), or null for the other sorts. */
  rank: string | null;
  /** The reacted_at position as exact UTC text with microseconds, or null for the other sorts. */
  reacted_key: string | null;
}

export interface FeedRow {
  post_id: number;
  /** As FeedEntry.version. */
  version: string;
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
}

/**
 * The columns of a FeedEntry (besides rank and reacted_key), from posts `p`, users `u` and
 * vault_objects `vo` (left joined); the version is the three rows' `xmin`.
 */
function entryColumns(sql: Queryable) {
  return sql`p.post_id, p.xmin::text || '.' || u.xmin::text || '.' || coalesce(vo.xmin::text, '-') as version,
           to_char(p.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as created_key`;
}

/** The columns of a FeedRow, from posts `p`, users `u` and vault_objects `vo` (left joined). */
function rowColumns(sql: Queryable) {
  return sql`${entryColumns(sql)}, p.storage_key, p.title, p.art_url, p.canvas, p.width, p.height, p.frame_count,
           p.has_transparency, u.handle as owner_handle, p.created_at, p.native_format,
           coalesce(vo.created_at, p.created_at) as artwork_modified_at`;
}

/**
 * The full rows of these posts, whatever their visibility now (they were on a page a moment ago),
 * in no particular order; a post that no longer exists is missing.
 */
export async function feedRowsByIds(sql: Queryable, ids: readonly number[]): Promise<FeedRow[]> {
  if (ids.length === 0) return [];
  return sql<FeedRow[]>`
    select ${rowColumns(sql)}
    from posts p
    join users u on u.id = p.owner_id
    left join vault_objects vo on vo.storage_key = p.storage_key
    where p.post_id = any(${sql.array(ids.map(String), 25)}::bigint[])`;
}

const rowBatchers = new WeakMap<object, Batcher<readonly number[], FeedRow[]>>();

/** feedRowsByIds where the callers arriving together share one statement; each gets the rows of its own ids. */
export function feedRowsByIdsBatched(sql: Queryable, ids: readonly number[]): Promise<FeedRow[]> {
  let b = rowBatchers.get(sql);
  if (b === undefined) {
    rowBatchers.set(sql, (b = new Batcher(async (lists: (readonly number[])[]) => {
      const rows = await feedRowsByIds(sql, [...new Set(lists.flat())]);
      const byId = new Map(rows.map((r) => [r.post_id, r]));
      return lists.map((list) => list.flatMap((id) => byId.get(id) ?? []));
    }, 50)));
  }
  return b.add(ids);
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
    select ${rowColumns(sql)}
    from posts p
    join users u on u.id = p.owner_id
    left join vault_objects vo on vo.storage_key = p.storage_key
    where p.post_id = ${postId} and ${visible}`;
  return rows[0] ?? null;
}

/** The channel reactions: posts `reactorId` reacted to, by their latest reaction, newest first. */
async function queryReactions(sql: Queryable, q: FeedQuery): Promise<FeedEntry[]> {
  if (q.reactorId === undefined) throw new Error('feed channel reactions needs reactorId');
  if (q.sort !== 'reacted_at') throw new Error(`feed channel reactions is ordered by reacted_at (got sort ${q.sort})`);
  const after = q.after;
  if (after !== undefined && after.sort !== 'reacted_at') throw new Error(`feed position of sort ${after.sort} used with sort reacted_at`);
  const visible = listable(sql, q.moderator);
  const keyset = after === undefined
    ? sql``
    : sql`having (max(r.created_at), r.post_id) < (${after.reactedAt}::text::timestamptz, ${after.postId}::bigint)`;
  return sql<FeedEntry[]>`
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
    select ${entryColumns(sql)}, null::text as rank,
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

/** What the caller must have filled in (a failure is the caller's bug, not a player's bad input). */
function checkFeedQuery(q: FeedQuery): void {
  if (!Number.isInteger(q.limit) || q.limit < 1) throw new RangeError(`feed limit must be a positive integer (got ${q.limit})`);
  if ((q.channel === 'user' || q.channel === 'by_user') && q.ownerId === undefined) {
    throw new Error(`feed channel ${q.channel} needs ownerId`);
  }
  if (q.channel === 'hashtag' && q.hashtag === undefined) throw new Error('feed channel hashtag needs hashtag');
}

/** The posts a player may list (moderators: every post not deleted), as the partial indexes posts_listable_* spell it. */
function listable(sql: Queryable, moderator: boolean) {
  return moderator
    ? sql`not p.deleted`
    : sql`p.visible and not p.hidden_by_mod and not p.non_conformant and not p.deleted`;
}

/** The order of a page's choice from posts (`rank`: the random order's rank of that row). */
function innerOrderOf(sql: Queryable, sort: Exclude<QueryPostsSort, 'reacted_at'>) {
  return sort === 'server_order' ? sql`order by p.post_id desc`
    : sort === 'created_at' ? sql`order by p.created_at desc, p.post_id desc`
    : sql`order by rank, p.post_id`;
}

/** The order of a page's rows once joined (`page.rank`), after `first` (the batch's query number). */
function outerOrderOf(sql: Queryable, sort: Exclude<QueryPostsSort, 'reacted_at'>, first = sql``) {
  return sort === 'server_order' ? sql`order by ${first} p.post_id desc`
    : sort === 'created_at' ? sql`order by ${first} p.created_at desc, p.post_id desc`
    : sql`order by ${first} page.rank, p.post_id`;
}

export async function queryFeed(sql: Queryable, q: FeedQuery): Promise<FeedEntry[]> {
  checkFeedQuery(q);
  if (q.channel === 'reactions') return queryReactions(sql, q);
  if (q.sort === 'reacted_at') throw new Error(`feed sort reacted_at needs channel reactions (got ${q.channel})`);
  const seed = String(q.seed ?? 0);
  const visible = listable(sql, q.moderator);
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
  const innerOrder = innerOrderOf(sql, q.sort);
  const outerOrder = outerOrderOf(sql, q.sort);
  // The page is chosen from posts alone (an index scan, or for random a scan of the ids with a
  // top-N sort); only its rows are then joined to their columns and owners.
  return sql<FeedEntry[]>`
    with page as (
      select p.post_id, ${rank} as rank
      from posts p
      where ${visible} ${channel} ${keyset}
      ${innerOrder}
      limit ${q.limit}
    )
    select ${entryColumns(sql)}, page.rank::text as rank, null::text as reacted_key
    from page
    join posts p on p.post_id = page.post_id
    join users u on u.id = p.owner_id
    left join vault_objects vo on vo.storage_key = p.storage_key
    ${outerOrder}`;
}

/** Most queries answered by one batched statement. */
const FEED_BATCH_MAX = 64;
const INT8_MAX = '9223372036854775807';
const INT8_MIN = '-9223372036854775808';

/** What makes queries answerable by one statement: the same channel kind, sort and visibility. */
function batchShape(q: FeedQuery): string {
  return `${q.channel}|${q.sort}|${q.moderator}`;
}

/**
 * Several feed queries of one shape (batchShape) in one statement: each query is a row of
 * parameters (owner, hashtag, seed, limit, position; unnest ... with ordinality numbers them), and
 * a lateral subquery picks each one's page exactly as queryFeed does; a query without a position
 * gets one before every post. The rows come back numbered by query and are split in order. Not for
 * the reactions channel (queryReactions). Each query's rows equal queryFeed's for it (tested).
 */
export async function queryFeedBatch(sql: Queryable, qs: readonly FeedQuery[]): Promise<FeedEntry[][]> {
  if (qs.length === 0) return [];
  const shape = batchShape(qs[0]!);
  for (const q of qs) {
    if (batchShape(q) !== shape) throw new Error(`feed batch mixes ${shape} with ${batchShape(q)}`);
    checkFeedQuery(q);
    if (q.after !== undefined && q.after.sort !== q.sort) throw new Error(`feed position of sort ${q.after.sort} used with sort ${q.sort}`);
  }
  const { channel: kind, sort, moderator } = qs[0]!;
  if (kind === 'reactions' || sort === 'reacted_at') throw new Error('feed batches do not serve the reactions channel');
  // one text array per parameter (nulls where a query has none), cast in SQL
  const col = (f: (q: FeedQuery) => string | number | null | undefined) => sql.array(qs.map((q) => {
    const v = f(q);
    return v === undefined || v === null ? null : String(v);
  }), 25);
  const owners = col((q) => q.ownerId);
  const hashtags = col((q) => q.hashtag);
  const seeds = col((q) => q.seed ?? 0);
  const limits = col((q) => q.limit);
  // the position: server_order [post_id]; created_at [created text, post_id]; random [rank, post_id]
  const afterKeys = col((q) => q.after?.sort === 'created_at' ? q.after.createdAt : q.after?.sort === 'random' ? q.after.rank : null);
  const afterIds = col((q) => q.after !== undefined && q.after.sort !== 'reacted_at' ? q.after.postId : null);
  const visible = listable(sql, moderator);
  const channel =
    kind === 'promoted' ? sql`and p.promoted_category is not null`
    : kind === 'user' || kind === 'by_user' ? sql`and p.owner_id = q.owner_id`
    : kind === 'hashtag' ? sql`and p.hashtags @> array[q.hashtag]`
    : sql``;
  const rank = sort === 'random' ? sql`hashint8extended(p.post_id, q.seed)` : sql`null::bigint`;
  const keyset =
    sort === 'server_order' ? sql`and p.post_id < coalesce(q.after_id, ${INT8_MAX}::bigint)`
    : sort === 'created_at' ? sql`and (p.created_at, p.post_id) < (coalesce(q.after_key::timestamptz, 'infinity'::timestamptz), coalesce(q.after_id, ${INT8_MAX}::bigint))`
    : sql`and (hashint8extended(p.post_id, q.seed), p.post_id) > (coalesce(q.after_key::bigint, ${INT8_MIN}::bigint), coalesce(q.after_id, 0))`;
  const innerOrder = innerOrderOf(sql, sort);
  const outerOrder = outerOrderOf(sql, sort, sql`page.i,`);
  const rows = await sql<(FeedEntry & { i: number })[]>`
    with q as (
      select q.i, q.owner_id::bigint as owner_id, q.hashtag, q.seed::bigint as seed, q.lim::int as lim,
             q.after_key, q.after_id::bigint as after_id
      from unnest(${owners}::text[], ${hashtags}::text[], ${seeds}::text[], ${limits}::text[], ${afterKeys}::text[], ${afterIds}::text[])
        with ordinality as q(owner_id, hashtag, seed, lim, after_key, after_id, i)
    ),
    page as (
      select q.i, x.post_id, x.rank
      from q cross join lateral (
        select p.post_id, ${rank} as rank
        from posts p
        where ${visible} ${channel} ${keyset}
        ${innerOrder}
        limit q.lim
      ) x
    )
    select page.i, ${entryColumns(sql)}, page.rank::text as rank, null::text as reacted_key
    from page
    join posts p on p.post_id = page.post_id
    join users u on u.id = p.owner_id
    left join vault_objects vo on vo.storage_key = p.storage_key
    ${outerOrder}`;
  const out: FeedEntry[][] = qs.map(() => []);
  for (const row of rows) {
    const { i, ...entry } = row;
    out[i - 1]!.push(entry);
  }
  return out;
}

const coalescers = new WeakMap<object, Coalescer<readonly FeedEntry[]>>();
const batchers = new WeakMap<object, Map<string, Batcher<FeedQuery, FeedEntry[]>>>();

/** The batcher of `sql` for queries of this shape. */
function batcherFor(sql: Queryable, q: FeedQuery): Batcher<FeedQuery, FeedEntry[]> {
  let byShape = batchers.get(sql);
  if (!byShape) batchers.set(sql, (byShape = new Map()));
  const shape = batchShape(q);
  let b = byShape.get(shape);
  // a query alone runs the plain statement (cheaper to plan and run than the batched form for one)
  if (!b) byShape.set(shape, (b = new Batcher((items: FeedQuery[]) => (items.length === 1 ? queryFeed(sql, items[0]!).then((r) => [r]) : queryFeedBatch(sql, items)), FEED_BATCH_MAX)));
  return b;
}

/** Statements run by the feed batchers of `sql` and the queries they answered, over all shapes. */
export function feedBatchStats(sql: Queryable): { statements: number; queries: number } {
  let statements = 0;
  let queries = 0;
  for (const b of batchers.get(sql)?.values() ?? []) {
    statements += b.stats.runs;
    queries += b.stats.items;
  }
  return { statements, queries };
}

/**
 * queryFeed where identical queries arriving together (many players asking for the same first page)
 * share one statement (see Coalescer: each caller still sees the writes committed before it asked),
 * and different queries of one shape arriving together share one statement too (queryFeedBatch via
 * a Batcher: the first runs at once, those arriving meanwhile go together in the next). The rows
 * are shared between the callers of one query: read-only.
 */
export function queryFeedCoalesced(sql: Queryable, q: FeedQuery): Promise<readonly FeedEntry[]> {
  let c = coalescers.get(sql);
  if (!c) coalescers.set(sql, (c = new Coalescer()));
  const key = JSON.stringify(q); // every field of the query: equal keys, equal statements
  if (q.channel === 'reactions') return c.run(key, () => queryFeed(sql, q));
  return c.run(key, () => batcherFor(sql, q).add(q));
}
