// submit_reaction: the owner's reaction on a post (at most limits.maxReactionsPerUserPerPost different ones per post).
import { limits } from '@makapix/contract/asyncapi/limits';
import { Constraints, pgConstraint } from '../../db/index.js';
import { addReaction } from '../../db/reactions.js';
import { normalizeEmoji } from '../emoji.js';
import { requestFailure, type RequestHandlers } from '@makapix/contract/asyncapi/operations';
import { success, type HandlerEnv } from '../request-session.js';

export const INVALID_EMOJI_MESSAGE = `emoji: must be 1..${limits.maxEmojiCodePoints} characters of emoji`;

export const handleSubmitReaction: RequestHandlers<HandlerEnv>['submit_reaction'] = async (req, env) => {
  const { ctx, session } = env;
  const emoji = normalizeEmoji(req.emoji);
  if (emoji === null) throw requestFailure('submit_reaction', 'invalid_emoji', INVALID_EMOJI_MESSAGE);
  try {
    return await ctx.sql.begin(async (tx) => {
      const outcome = await addReaction(tx, { postId: req.post_id, userId: session.ownerId, emoji, moderator: session.isModerator });
      if (outcome === 'not_found') throw requestFailure('submit_reaction', 'not_found', `post_id: post ${req.post_id} not found`);
      return env.remember(tx, success(session.requestId, {}));
    });
  } catch (err) {
    if (pgConstraint(err) === Constraints.reactionLimit) {
      throw requestFailure('submit_reaction', 'reaction_limit_exceeded', `At most ${limits.maxReactionsPerUserPerPost} different reactions per user per post`);
    }
    throw err;
  }
};
