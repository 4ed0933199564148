// Views on makapix/player/+/view (since 1.1; the firmware's way to report views), from
// $share/<group>/makapix/player/+/view. Recorded like submit_view (never for the owner's own post),
// except that a player's views of one post count once within limits.viewRepeatWindowSeconds; a
// view counts against the per-player rate limit. With request_ack the answer goes to view/ack.
import type { InboundError } from '#runtime/v1';
import type { PlayerViewAckMessage } from '@makapix/contract/asyncapi/channels';
import { limits } from '@makapix/contract/asyncapi/limits';
import { publishPlayerViewAck, subscribePlayerView } from '@makapix/contract/asyncapi/operations';
import type { PlayerView } from '@makapix/contract/asyncapi/schemas';
import type { AppContext } from '../context.js';
import { findRegisteredPlayer } from '../db/player-device.js';
import { rateLimitKeys } from '../db/rate-limit.js';
import { recordPlayerView, type ViewOutcome } from '../db/views.js';
import type { ServerKeys } from './server-keys.js';
import { keyedHash } from './server-keys.js';

export interface ViewWorker {
  stop(): Promise<void>;
}

type Answer = PlayerViewAckMessage;

/** Handles one view; the answer view/ack would carry. */
export async function handleView(ctx: AppContext, keys: ServerKeys, playerKey: string, view: PlayerView): Promise<{ answer: Answer; outcome?: ViewOutcome }> {
  const player = await findRegisteredPlayer(ctx.sql, playerKey);
  if (player === null) return { answer: { success: false, error: `Player ${playerKey} is not registered`, error_code: 'authentication_failed' } };
  const perMinute = ctx.config.rateLimits.perPlayerPerMinute;
  const verdict = await ctx.rateLimiter.hit([{ key: rateLimitKeys.player(playerKey), limit: perMinute }]);
  if (!verdict.allowed) {
    return { answer: { success: false, error: `Rate limit exceeded (${perMinute} requests and views per minute per player); retry in ${verdict.retryAfterSeconds} s`, error_code: 'rate_limit_exceeded' } };
  }
  const outcome = await ctx.sql.begin((tx) => recordPlayerView(tx, {
    postId: view.post_id,
    viewerId: player.ownerId,
    viewerHash: keyedHash(keys.viewer, player.ownerUserId),
    viewType: view.intent === 'artwork' ? 'intentional' : 'listing',
    dedupeKey: null,
    moderator: player.isModerator,
    repeat: { playerHash: keyedHash(keys.dedupe, 'view', playerKey), windowSeconds: limits.viewRepeatWindowSeconds, at: ctx.now() },
  }));
  if (outcome === 'not_found') return { answer: { success: false, error: `post_id: post ${view.post_id} not found`, error_code: 'not_found' }, outcome };
  return { answer: { success: true }, outcome };
}

export async function startViewWorker(ctx: AppContext, keys: ServerKeys): Promise<ViewWorker> {
  const count = (outcome: string, n = 1) => ctx.metrics.playerReport('view', outcome, n);
  const unsubscribe = await subscribePlayerView(
    ctx.router,
    async ({ params, payload }) => {
      const playerKey = params.player_key.toLowerCase();
      if (payload.player_key.toLowerCase() !== playerKey) {
        count('dropped_key_mismatch');
        ctx.log.warn({ topic_key: params.player_key }, 'view payload player_key differs from the topic; dropped');
        return;
      }
      count('received');
      let answer: Answer;
      try {
        const r = await handleView(ctx, keys, playerKey, payload);
        answer = r.answer;
        count(r.outcome ?? (r.answer.success ? 'recorded' : r.answer.error_code));
      } catch (err) {
        count('internal_error');
        ctx.log.error({ err, player_key: playerKey }, 'recording a view failed');
        answer = { success: false, error: 'Internal server error', error_code: 'internal_error' };
      }
      if (payload.request_ack !== true) return;
      await publishPlayerViewAck(ctx.mqtt, { player_key: params.player_key }, answer)
        .catch((err: unknown) => ctx.log.error({ err, player_key: playerKey }, 'could not publish a view/ack'));
    },
    {
      share: ctx.config.broker.shareGroup,
      onError: (e: InboundError) => {
        count(`dropped_${e.reason}`);
        ctx.log.warn({ topic: e.topic, reason: e.reason, detail: e.message }, 'player view dropped');
      },
    },
  );
  return {
    async stop() {
      await unsubscribe().catch((err: unknown) => ctx.log.warn({ err }, 'unsubscribing the view topic failed'));
    },
  };
}
