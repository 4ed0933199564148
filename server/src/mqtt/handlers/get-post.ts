// get_post (since 1.1): one post's summary, if the player's owner may see it.
import { findPlayerPost } from '../../db/feed.js';
import { requestFailure, type RequestHandlers } from '@makapix/contract/asyncapi/operations';
import { postSummaryOf } from '../post-summary.js';
import { success, type HandlerEnv } from '../request-session.js';

export const handleGetPost: RequestHandlers<HandlerEnv>['get_post'] = async (req, env) => {
  const { ctx, session } = env;
  const row = await findPlayerPost(ctx.sql, req.post_id, { ownerId: session.ownerId, moderator: session.isModerator });
  if (row === null) throw requestFailure('get_post', 'not_found', `post_id: post ${req.post_id} not found`);
  return env.remember(ctx.sql, success(session.requestId, { post: postSummaryOf(row) }));
};
