// submit_view: one view event per request, never for one's own post, never twice for a redelivery.
import { SubmitViewRequestDefaults } from '@makapix/contract/asyncapi/schemas';
import { recordPlayerView } from '../../db/views.js';
import { requestFailure, type RequestHandlers } from '@makapix/contract/asyncapi/operations';
import { success, type HandlerEnv } from '../request-session.js';
import { keyedHash } from '../server-keys.js';

export const handleSubmitView: RequestHandlers<HandlerEnv>['submit_view'] = async (req, env) => {
  const { ctx, keys, session } = env;
  return ctx.sql.begin(async (tx) => {
    const outcome = await recordPlayerView(tx, {
      postId: req.post_id,
      viewerId: session.ownerId,
      viewerHash: keyedHash(keys.viewer, session.ownerUserId),
      viewType: (req.view_intent ?? SubmitViewRequestDefaults.view_intent) === 'intentional' ? 'intentional' : 'listing',
      dedupeKey: keyedHash(keys.dedupe, session.playerKey.toLowerCase(), session.requestId),
      moderator: session.isModerator,
    });
    if (outcome === 'not_found') throw requestFailure('submit_view', 'not_found', `post_id: post ${req.post_id} not found`);
    return env.remember(tx, success(session.requestId, {}));
  });
};
