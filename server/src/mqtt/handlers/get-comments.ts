// get_comments: a page of a post's threaded comments, after an opaque cursor.
import { GetCommentsRequestDefaults, type Comment } from '@makapix/contract/asyncapi/schemas';
import { threadPage, type ThreadRow } from '../../db/comment-threads.js';
import { decodeCursor, encodeCursor } from '../cursor.js';
import { PageFitter } from '../page-fit.js';
import { requestFailure, type RequestHandlers } from '@makapix/contract/asyncapi/operations';
import { success, type HandlerEnv } from '../request-session.js';

const PATH = /^(?:[0-9]{20}[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}){1,3}$/;

export const handleGetComments: RequestHandlers<HandlerEnv>['get_comments'] = async (req, env) => {
  const { ctx, keys, session } = env;
  const limit = req.limit ?? GetCommentsRequestDefaults.limit;
  const scope = `comments|${req.post_id}`;
  let afterPath: string | undefined;
  if (req.cursor !== undefined && req.cursor !== null) {
    const k = decodeCursor(keys.cursor, scope, req.cursor);
    if (k.length !== 1 || typeof k[0] !== 'string' || !PATH.test(k[0])) {
      throw requestFailure('get_comments', 'invalid_request', 'cursor: invalid or expired cursor');
    }
    afterPath = k[0];
  }
  const rows = await threadPage(ctx.sql, {
    postId: req.post_id, afterPath, limit: limit + 1, moderator: session.isModerator, viewerId: session.ownerId,
  });
  if (rows === null) throw requestFailure('get_comments', 'not_found', `post_id: post ${req.post_id} not found`);
  const page = rows.slice(0, limit);
  let hasMore = rows.length > limit;
  const fitter = new PageFitter(success(session.requestId, { comments: [], next_cursor: null, has_more: false }));
  const comments: Comment[] = [];
  let last: ThreadRow | undefined;
  for (const row of page) {
    const comment: Comment = {
      comment_id: row.comment_id,
      post_id: row.post_id,
      author_handle: row.author_handle,
      body: row.body,
      depth: row.depth,
      parent_id: row.parent_id,
      created_at: row.created_at.toISOString(),
      deleted: row.deleted,
    };
    if (!fitter.add(comment)) {
      hasMore = true;
      break;
    }
    comments.push(comment);
    last = row;
  }
  const nextCursor = hasMore && last !== undefined ? encodeCursor(keys.cursor, scope, [last.path]) : null;
  return env.remember(ctx.sql, success(session.requestId, { comments, next_cursor: nextCursor, has_more: hasMore }));
};
