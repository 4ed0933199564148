// revoke_reaction: removes the owner's reaction; removing an absent one succeeds and changes nothing.
import { removeReaction } from '../../db/reactions.js';
import { normalizeEmoji } from '../emoji.js';
import { RequestError } from '../request-error.js';
import { success, type RequestHandler } from '../request-session.js';
import { INVALID_EMOJI_MESSAGE } from './submit-reaction.js';

export const handleRevokeReaction: RequestHandler<'revoke_reaction'> = async (env, req) => {
  const { ctx, session } = env;
  const emoji = normalizeEmoji(req.emoji);
  if (emoji === null) throw new RequestError('invalid_emoji', INVALID_EMOJI_MESSAGE);
  return ctx.sql.begin(async (tx) => {
    await removeReaction(tx, { postId: req.post_id, userId: session.ownerId, emoji });
    return env.remember(tx, success(session.requestId, {}));
  });
};
