// The request pipeline: the generated `serveRequests` (codegen/runtime/serve-requests.ts lists its
// checks in order) with this server's hooks: who is asking and any stored answer (one query for the
// requests arriving together), rate limits (per player, per owner user), and the idempotency store
// for expected failures. The handlers (./handlers/) implement the generated RequestHandlers.
// Pure reads (query_posts, get_comments, get_post) have no effect: their answers are not stored in
// the database but remembered in memory for a while (RecentAnswers: a copy gets the same answer,
// not counted against the rate limit; later, or at another instance, it is answered from current
// data), and who is asking comes from memory (PlayerAuthCache, invalidated by NOTIFY).
// Requests with effects still look up player and stored answer in one statement, and store theirs.
import { type ErrorAnswer, type Refusal, type RequestTopicParams } from '#runtime/v1';
import type { PlayerResponseMessage } from '@makapix/contract/asyncapi/channels';
import { limits as protocolLimits } from '@makapix/contract/asyncapi/limits';
import { serveRequests, type RequestHandlers } from '@makapix/contract/asyncapi/operations';
import type { AppContext } from '../context.js';
import { idempotency, type Queryable } from '../db/index.js';
import { findPlayerAuthBatch } from '../db/player-session.js';
import { rateLimitKeys } from '../db/rate-limit.js';
import { Batcher } from '../services/batcher.js';
import { createRequestConnection, type RequestConnection } from './request-connection.js';
import { startSessionTakeover, type ServedOn } from './session-takeover.js';
import {
  handleGetComments, handleGetPost, handleQueryPosts, handleRevokeReaction, handleSubmitReaction, handleSubmitView,
} from './handlers/index.js';
import { PlayerAuthCache, RecentAnswers, type KnownPlayer } from './player-cache.js';
import type { HandlerEnv } from './request-session.js';
import { sameJson } from './same-json.js';
import type { ServerKeys } from './server-keys.js';
import { coalesceWrites } from './write-coalescing.js';

const handlers: RequestHandlers<HandlerEnv> = {
  query_posts: handleQueryPosts,
  submit_view: handleSubmitView,
  submit_reaction: handleSubmitReaction,
  revoke_reaction: handleRevokeReaction,
  get_comments: handleGetComments,
  get_post: handleGetPost,
};

/** The request types without effects (their handlers only read). */
const pureReads: ReadonlySet<string> = new Set(Object.keys({
  query_posts: true, get_comments: true, get_post: true,
} satisfies Partial<Record<keyof RequestHandlers<HandlerEnv>, true>>));

export interface RequestPipeline {
  /** Unsubscribes, then waits (bounded) for the requests being handled. */
  stop(): Promise<void>;
}

export async function startRequestPipeline(ctx: AppContext, keys: ServerKeys): Promise<RequestPipeline> {
  // requests arriving together share one player look-up and one idempotency insert
  const authBatcher = new Batcher((items: { playerKey: string; requestId: string }[]) => findPlayerAuthBatch(ctx.sql, items));
  const rememberBatcher = new Batcher((items: { playerKey: string; requestId: string; response: PlayerResponseMessage }[]) =>
    idempotency.rememberBatch(ctx.sql, items) as Promise<PlayerResponseMessage[]>);
  const metrics = ctx.metrics;
  const players = new PlayerAuthCache();
  await players.start(ctx.sql);
  const recentReads = new RecentAnswers<PlayerResponseMessage>();
  const stopCoalescing = coalesceWrites(ctx.mqtt);

  const authenticate = async (params: RequestTopicParams, requestType: string): Promise<HandlerEnv | Refusal> => {
    const playerKey = params.player_key.toLowerCase();
    const read = pureReads.has(requestType);
    // after the I/O of this turn of the loop: a NOTIFY that arrived with this request counts first
    if (read) await new Promise<void>((resolve) => setImmediate(resolve));
    // a read is answered for a player known from memory; anything else asks the database
    let found: KnownPlayer | null | undefined = read ? players.get(playerKey) : undefined;
    const readKey = `${playerKey}|${params.request_id}`;
    let stored: Record<string, unknown> | null = read ? (recentReads.get(readKey) as Record<string, unknown> | undefined) ?? null : null;
    if (found === undefined) {
      // requests with effects always ask the database: the player and any answer stored for this id
      const epoch = players.begin();
      const row = await authBatcher.add({ playerKey: params.player_key, requestId: params.request_id });
      players.keep(epoch, playerKey, row);
      found = row;
      stored ??= row?.stored ?? null;
    }
    if (found === null || !found.registered || found.ownerId === null || found.ownerUserId === null) {
      return { refuse: 'authentication_failed', message: `Player ${params.player_key} is not registered` };
    }
    const session = {
      playerKey: params.player_key,
      requestId: params.request_id,
      ownerId: found.ownerId,
      ownerUserId: found.ownerUserId,
      isModerator: found.isModerator,
    };
    const remember = async <R extends PlayerResponseMessage>(q: Queryable, response: R): Promise<R> => {
      // a read's answer is not stored, only remembered here for a while
      if (read && q === ctx.sql) return recentReads.put(readKey, response) as R;
      const stored = q === ctx.sql
        ? await rememberBatcher.add({ playerKey: session.playerKey, requestId: session.requestId, response })
        : await idempotency.remember(q, session.playerKey, session.requestId, response);
      // Send our own object when it is the stored one (jsonb does not keep the key order); another
      // stored answer is checked against this operation's reply schema by the pipeline.
      return sameJson(stored, response) ? response : (stored as R);
    };
    return { ctx, keys, session, stored, remember };
  };

  const admit = async (env: HandlerEnv): Promise<Refusal | undefined> => {
    const limits = ctx.config.rateLimits;
    const playerLimitKey = rateLimitKeys.player(env.session.playerKey.toLowerCase());
    const verdict = await ctx.rateLimiter.hit([
      { key: playerLimitKey, limit: limits.perPlayerPerMinute },
      { key: rateLimitKeys.user(env.session.ownerUserId), limit: limits.perUserPerMinute },
    ]);
    if (verdict.allowed) return undefined;
    const byPlayer = verdict.exceeded.includes(playerLimitKey);
    return {
      refuse: 'rate_limit_exceeded',
      message: byPlayer
        ? `Rate limit exceeded (${limits.perPlayerPerMinute} requests per minute per player); retry in ${verdict.retryAfterSeconds} s`
        : `Rate limit exceeded (${limits.perUserPerMinute} requests per minute per user); retry in ${verdict.retryAfterSeconds} s`,
    };
  };

  /** A malformed request counts against its topic player's limit like any other request. */
  const limitRefused = async (params: RequestTopicParams): Promise<Refusal | undefined> => {
    const limits = ctx.config.rateLimits;
    const verdict = await ctx.rateLimiter.hit([{ key: rateLimitKeys.player(params.player_key.toLowerCase()), limit: limits.perPlayerPerMinute }]);
    if (verdict.allowed) return undefined;
    return {
      refuse: 'rate_limit_exceeded',
      message: `Rate limit exceeded (${limits.perPlayerPerMinute} requests per minute per player, malformed ones included); retry in ${verdict.retryAfterSeconds} s`,
    };
  };

  /** Serves the requests arriving on `connection` (opened here, once the handler is registered); stop() also closes it. */
  const serveOn = async (connection: RequestConnection): Promise<ServedOn> => {
    const stopConnectionCoalescing = coalesceWrites(connection.client);
    const serving = serveRequests<HandlerEnv>({
      client: connection.client,
      router: connection.router,
      acknowledge: (packet) => connection.acks.ack(packet),
      keepSubscriptionOnStop: connection.persistent,
      share: ctx.config.broker.shareGroup,
      maxPayloadBytes: protocolLimits.maxPayloadBytes,
      handlers,
      hooks: {
        authenticate,
        replay: (env) => env.stored,
        admit,
        remember: (env, answer: ErrorAnswer) => env.remember(ctx.sql, answer as PlayerResponseMessage),
        limitRefused,
      },
      observe: {
        replayed: (type) => metrics.mqttRequestReplayed(type),
        answered: (type, outcome) => metrics.mqttRequestAnswered(type, outcome),
        // only with metrics on: the runtime then stamps each request's arrival
        ...(metrics.enabled ? { published: (type: string | undefined, _outcome: string, seconds: number) => metrics.mqttRequestPublished(type, seconds) } : {}),
        dropped: (reason, { topic, error }) => {
          metrics.mqttDropped(reason);
          if (reason === 'topic') ctx.log.warn({ topic }, 'MQTT request on a topic that does not parse; dropped');
          else ctx.log.error({ err: error, topic }, 'could not publish an MQTT response');
        },
        fault: (err, { topic, requestType }) => {
          ctx.log.error({ err, topic, request_type: requestType }, 'MQTT request failed with an internal error');
        },
        breaker: (state) => {
          if (state === 'open') ctx.log.error('MQTT requests fail fast: the database keeps failing (answered internal_error at once until a probe succeeds)');
          else ctx.log.warn('MQTT requests are handled again: the database answers');
        },
      },
    });
    // the subscription's handler is registered (synchronously, above): a resumed session's queued
    // requests may arrive right after CONNACK
    connection.open();
    let served: Awaited<typeof serving>;
    try {
      served = await serving;
    } catch (err) {
      stopConnectionCoalescing();
      await connection.close();
      throw err;
    }
    return {
      connection,
      async stop() {
        await served.stop();
        stopConnectionCoalescing();
        await connection.close();
      },
    };
  };

  // its own connection, with a persistent session: see request-connection.ts
  const main = await serveOn(createRequestConnection(ctx));
  // the sessions of instances that went silent are taken over: see session-takeover.ts
  const takeover = startSessionTakeover(ctx, (clientId) => serveOn(createRequestConnection(ctx, { clientId })));
  return {
    async stop() {
      await takeover.stop();
      await main.stop();
      stopCoalescing();
      await players.stop();
    },
  };
}
