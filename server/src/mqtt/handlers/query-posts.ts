// query_posts: a page of post summaries from a channel, in a sort, after an opaque cursor.
// Since 1.1: channels artwork, reactions (ordered by reacted_at) and hashtag; users by user_sqid.
import { randomInt } from 'node:crypto';
import { compileValidator, type RequestFailure } from '#runtime/v1';
import { PostSummary, QueryPostsRequestBounds, QueryPostsRequestDefaults, type QueryPostsChannel, type QueryPostsSort } from '@makapix/contract/asyncapi/schemas';
import { feedRowsByIdsBatched, findUserIdByHandle, queryFeedCoalesced, type FeedEntry, type FeedPosition, type FeedRow } from '../../db/feed.js';
import { findUserByInternalId } from '../../db/users.js';
import { decodeUserSqid } from '../../ids/index.js';
import { postSummaryOf } from '../post-summary.js';
import { decodeCursor, encodeCursor, type CursorPosition } from '../cursor.js';
import { PageFitter } from '../page-fit.js';
import { requestFailure, type RequestHandlers } from '@makapix/contract/asyncapi/operations';
import { success, type HandlerEnv } from '../request-session.js';

const MAX_SEED = QueryPostsRequestBounds.random_seed.maximum;
const postSummaryValidator = compileValidator<PostSummary>(PostSummary);

interface Page { posts: PostSummary[]; nextCursor: string | null; hasMore: boolean }
/**
 * Pages already made from a set of feed entries. Identical queries arriving together share one
 * statement and so one entries array (queryFeedCoalesced): the page made of it (summaries checked,
 * fitted under the size limit, cursor signed) is the same for all of them, so it is made once.
 * Keyed by the entries array (whose query fixes channel, sort, seed, position and limit) and the
 * request id's length (the fitter counts it); gone with the entries. Always as fresh as the
 * statement it came from.
 */
const pagesOf = new WeakMap<readonly FeedEntry[], Map<number, Promise<Page>>>();

/**
 * Post summaries already made (checked against PostSummary, serialized size known), by post id,
 * with the version of the rows they were made from (FeedEntry.version): a feed entry of the same
 * version is answered with the summary made before; a new version (the post, its owner or its vault
 * object changed) is fetched again. Pages of different queries share most posts.
 */
interface Made { version: string; summary: PostSummary | null; problem: string; bytes: number }
const summaries = new Map<number, Made>();
const MAX_SUMMARIES = 50_000;

function remember(row: FeedRow): Made {
  const summary: PostSummary = postSummaryOf(row);
  const ok = postSummaryValidator.check(summary);
  const made: Made = ok
    ? { version: row.version, summary, problem: '', bytes: Buffer.byteLength(JSON.stringify(summary)) }
    : { version: row.version, summary: null, problem: postSummaryValidator.explain(summary), bytes: 0 };
  if (summaries.size >= MAX_SUMMARIES) summaries.clear();
  summaries.set(row.post_id, made);
  return made;
}

/** The summaries of these entries: from memory at their version, the others made from rows fetched now (a post gone since is missing). */
async function summariesFor(sql: HandlerEnv['ctx']['sql'], entries: readonly FeedEntry[]): Promise<Map<number, Made>> {
  const out = new Map<number, Made>();
  const missing: number[] = [];
  for (const e of entries) {
    const had = summaries.get(e.post_id);
    if (had !== undefined && had.version === e.version) out.set(e.post_id, had);
    else missing.push(e.post_id);
  }
  if (missing.length > 0) for (const row of await feedRowsByIdsBatched(sql, missing)) out.set(row.post_id, remember(row));
  return out;
}

const CREATED_KEY = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z$/;
const RANK = /^-?[0-9]{1,19}$/;
const isPostId = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 1;
const isSeed = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= MAX_SEED;

function badCursor(): RequestFailure {
  return requestFailure('query_posts', 'invalid_request', 'cursor: invalid or expired cursor');
}

/** The feed position and seed of a cursor position (already verified as ours, for this scope). */
function readPosition(sort: QueryPostsSort, k: CursorPosition): { after: FeedPosition; seed?: number } {
  if (sort === 'reacted_at' && k.length === 2 && typeof k[0] === 'string' && CREATED_KEY.test(k[0]) && isPostId(k[1])) {
    return { after: { sort, reactedAt: k[0], postId: k[1] } };
  }
  if (sort === 'server_order' && k.length === 1 && isPostId(k[0])) return { after: { sort, postId: k[0] } };
  if (sort === 'created_at' && k.length === 2 && typeof k[0] === 'string' && CREATED_KEY.test(k[0]) && isPostId(k[1])) {
    return { after: { sort, createdAt: k[0], postId: k[1] } };
  }
  if (sort === 'random' && k.length === 3 && isSeed(k[0]) && typeof k[1] === 'string' && RANK.test(k[1]) && isPostId(k[2])) {
    return { after: { sort, rank: k[1], postId: k[2] }, seed: k[0] };
  }
  throw badCursor();
}

function positionOf(sort: QueryPostsSort, seed: number, row: FeedEntry): CursorPosition {
  if (sort === 'server_order') return [row.post_id];
  if (sort === 'created_at') return [row.created_key, row.post_id];
  if (sort === 'reacted_at') return [row.reacted_key!, row.post_id];
  return [seed, row.rank!, row.post_id];
}

/** users.id of the user a request names by user_sqid (preferred) or user_handle; not_found when nobody is. */
async function namedUser(env: Parameters<RequestHandlers<HandlerEnv>['query_posts']>[1], sqid: string | undefined, handle: string | undefined): Promise<number> {
  const { ctx } = env;
  if (sqid !== undefined) {
    const decoded = decodeUserSqid(sqid);
    const user = decoded === null ? null : await findUserByInternalId(ctx.sql, decoded);
    if (user === null) throw requestFailure('query_posts', 'not_found', `user_sqid: no user with sqid ${sqid}`);
    return user.id;
  }
  const id = await findUserIdByHandle(ctx.sql, handle!);
  if (id === null) throw requestFailure('query_posts', 'not_found', `user_handle: no user with handle ${handle}`);
  return id;
}

export const handleQueryPosts: RequestHandlers<HandlerEnv>['query_posts'] = async (req, env) => {
  const { ctx, keys, session } = env;
  const channel: QueryPostsChannel = req.channel ?? QueryPostsRequestDefaults.channel;
  const requested: QueryPostsSort = req.sort ?? QueryPostsRequestDefaults.sort;
  const limit = req.limit ?? QueryPostsRequestDefaults.limit;
  if (channel === 'by_user' && req.user_handle === undefined && req.user_sqid === undefined) {
    throw requestFailure('query_posts', 'invalid_request', 'user_handle: required when channel is by_user');
  }
  if (channel === 'reactions' && req.user_sqid === undefined) {
    throw requestFailure('query_posts', 'invalid_request', 'user_sqid: required when channel is reactions');
  }
  if (channel === 'hashtag' && req.hashtag === undefined) {
    throw requestFailure('query_posts', 'invalid_request', 'hashtag: required when channel is hashtag');
  }
  if (channel === 'reactions' && requested !== 'server_order' && requested !== 'reacted_at') {
    throw requestFailure('query_posts', 'invalid_request', `sort: channel reactions is listed newest reaction first (server_order or reacted_at), not ${requested}`);
  }
  if (channel !== 'reactions' && requested === 'reacted_at') {
    throw requestFailure('query_posts', 'invalid_request', 'sort: reacted_at is only for channel reactions');
  }
  // the reactions channel's own order is reacted_at
  const sort: QueryPostsSort = channel === 'reactions' ? 'reacted_at' : requested;

  let ownerId: number | undefined;
  let reactorId: number | undefined;
  if (channel === 'user') ownerId = session.ownerId;
  if (channel === 'by_user') ownerId = await namedUser(env, req.user_sqid, req.user_handle);
  if (channel === 'reactions') reactorId = await namedUser(env, req.user_sqid, undefined);
  const hashtag = channel === 'hashtag' ? req.hashtag!.replace(/^#/, '').toLowerCase() : undefined;
  const scope = `posts|${channel}|${sort}|${ownerId ?? reactorId ?? hashtag ?? ''}`;

  let after: FeedPosition | undefined;
  let seed = sort === 'random' ? req.random_seed : undefined;
  if (req.cursor !== undefined && req.cursor !== null) {
    const pos = readPosition(sort, decodeCursor(keys.cursor, scope, req.cursor));
    if (pos.seed !== undefined && seed !== undefined && pos.seed !== seed) {
      throw requestFailure('query_posts', 'invalid_request', 'cursor: belongs to a different query (random_seed changed)');
    }
    after = pos.after;
    seed ??= pos.seed;
  }
  if (sort === 'random') seed ??= randomInt(0, MAX_SEED + 1);

  const rows = await queryFeedCoalesced(ctx.sql, { channel, ownerId, reactorId, hashtag, sort, seed, after, limit: limit + 1, moderator: session.isModerator });
  let made = pagesOf.get(rows);
  if (made === undefined) pagesOf.set(rows, (made = new Map()));
  let making = made.get(session.requestId.length);
  if (making === undefined) {
    making = makePage(env, rows, limit, sort, seed, scope);
    made.set(session.requestId.length, making);
    // a page that failed (its rows could not be fetched) is not kept: the next request makes it again
    making.catch(() => made.delete(session.requestId.length));
  }
  const answer = await making;
  return env.remember(ctx.sql, success(session.requestId, { posts: answer.posts, next_cursor: answer.nextCursor, has_more: answer.hasMore }));
};

async function makePage(env: Parameters<RequestHandlers<HandlerEnv>['query_posts']>[1], rows: readonly FeedEntry[], limit: number, sort: QueryPostsSort, seed: number | undefined, scope: string): Promise<Page> {
  const { ctx, keys, session } = env;
  const page = rows.slice(0, limit);
  const made = await summariesFor(ctx.sql, page);
  let hasMore = rows.length > limit;
  const fitter = new PageFitter(success(session.requestId, { posts: [], next_cursor: null, has_more: false }));
  const posts: PostSummary[] = [];
  let last: FeedEntry | undefined;
  for (const row of page) {
    const m = made.get(row.post_id);
    if (m === undefined) {
      // deleted between the page's statement and the fetch of its row: as if it had not been listed
      last = row;
      continue;
    }
    const { summary, problem, bytes } = m;
    if (summary === null) {
      // A row the protocol cannot describe (e.g. wider than 4096 px) is passed over, not fatal.
      ctx.log.warn({ post_id: row.post_id, problem }, 'query_posts skips a post that does not fit PostSummary');
      last = row;
      continue;
    }
    if (!fitter.addBytes(bytes)) {
      hasMore = true;
      break;
    }
    posts.push(summary);
    last = row;
  }
  const nextCursor = hasMore && last !== undefined ? encodeCursor(keys.cursor, scope, positionOf(sort, seed ?? 0, last)) : null;
  return { posts, nextCursor, hasMore };
}
