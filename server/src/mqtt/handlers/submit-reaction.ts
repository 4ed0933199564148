// submit_reaction: the owner's reaction on a post (at most limits.maxReactionsPerUserPerPost different ones per post).
import { limits } from '../../../../generated/asyncapi/limits.js';
import { Constraints, pgConstraint } from '../../db/index.js';
import { addReaction } from '../../db/reactions.js';
import { normalizeEmoji } from '../emoji.js';
import { RequestError } from '../request-error.js';
import { success, type RequestHandler } from '../request-session.js';

export const INVALID_EMOJI_MESSAGE = `emoji: must be 1..${limits.maxEmojiCodePoints} characters of emoji`;

export const handleSubmitReaction: RequestHandler<'submit_reaction'> = async (env, req) => {
  const { ctx, session } = env;
  const emoji = normalizeEmoji(req.emoji);
  if (emoji === null) throw new RequestError('invalid_emoji', INVALID_EMOJI_MESSAGE);
  try {
    return await ctx.sql.begin(async (tx) => {
      const outcome = await addReaction(tx, { postId: req.post_id, userId: session.ownerId, emoji, moderator: session.isModerator });
      if (outcome === 'not_found') throw new RequestError('not_found', `post_id: post ${req.post_id} not found`);
      return env.remember(tx, success(session.requestId, {}));
    });
  } catch (err) {
    if (pgConstraint(err) === Constraints.reactionLimit) {
      throw new RequestError('reaction_limit_exceeded', `At most ${limits.maxReactionsPerUserPerPost} different reactions per user per post`);
    }
    throw err;
  }
};
