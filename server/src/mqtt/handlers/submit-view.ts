// submit_view: one view event per request, never for one's own post, never twice for a redelivery.
import { SubmitViewRequestDefaults } from '../../../../generated/asyncapi/schemas.js';
import { recordPlayerView } from '../../db/views.js';
import { RequestError } from '../request-error.js';
import { success, type RequestHandler } from '../request-session.js';
import { keyedHash } from '../server-keys.js';

export const handleSubmitView: RequestHandler<'submit_view'> = async (env, req) => {
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
    if (outcome === 'not_found') throw new RequestError('not_found', `post_id: post ${req.post_id} not found`);
    return env.remember(tx, success(session.requestId, {}));
  });
};
