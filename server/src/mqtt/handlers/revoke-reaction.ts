// revoke_reaction: removes the owner's reaction; removing an absent one succeeds and changes nothing.
import { removeReaction } from '../../db/reactions.js';
import { normalizeEmoji } from '../emoji.js';
import { requestFailure, type RequestHandlers } from '@makapix/contract/asyncapi/operations';
import { success, type HandlerEnv } from '../request-session.js';
import { INVALID_EMOJI_MESSAGE } from './submit-reaction.js';

export const handleRevokeReaction: RequestHandlers<HandlerEnv>['revoke_reaction'] = async (req, env) => {
  const { ctx, session } = env;
  const emoji = normalizeEmoji(req.emoji);
  if (emoji === null) throw requestFailure('revoke_reaction', 'invalid_emoji', INVALID_EMOJI_MESSAGE);
  return ctx.sql.begin(async (tx) => {
    await removeReaction(tx, { postId: req.post_id, userId: session.ownerId, emoji });
    return env.remember(tx, success(session.requestId, {}));
  });
};
