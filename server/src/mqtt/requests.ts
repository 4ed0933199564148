// The request pipeline: every player request gets exactly one response on
// makapix/player/{player_key}/response/{request_id}, whichever instance of the shared
// subscription receives it. Checks, in order:
//   1. the topic parses (player_key a UUID, request_id a valid segment)   else drop + count
//   2. payload size <= limits.maxPayloadBytes (the router drops larger)   else invalid_request
//   3. the payload is UTF-8 JSON                                          else invalid_request
//   4. request_type is known                                              else unknown_request_type
//   5. the payload matches its schema (unknown fields are ignored)        else invalid_request naming the field
//   6. payload player_key = topic key                                     else authentication_failed
//   7. payload request_id = topic segment                                 else invalid_request
//   8. the player exists, is registered and has an owner                  else authentication_failed
//   9. an answer is already stored for (player_key, request_id)           -> send it again (nothing re-done)
//  10. rate limits (per player, per owner user)                           else rate_limit_exceeded
//  11. the handler; its answer is stored (with its writes, in one transaction) and sent.
// Errors a handler expects (RequestError) are stored like any answer; anything else is a real
// fault: logged, answered internal_error, and not stored (a redelivery may succeed).
import { isUnknownTag, publishChecked, type Checked, type InboundError } from '../../../codegen/runtime/index.js';
import {
  PlayerRequestMessageValidator, playerResponse, PlayerResponseMessageValidator, playerRequestTopic,
  type PlayerRequestParams, type PlayerResponseMessage,
} from '../../../generated/asyncapi/channels.js';
import { limits } from '../../../generated/asyncapi/limits.js';
import { requestOperations } from '../../../generated/asyncapi/operations.js';
import type { AppContext } from '../context.js';
import { idempotency, type Queryable } from '../db/index.js';
import { rateLimitKeys } from '../db/rate-limit.js';
import { findPlayerAuthBatch } from '../db/player-session.js';
import { Batcher } from '../services/batcher.js';
import {
  handleGetComments, handleQueryPosts, handleRevokeReaction, handleSubmitReaction, handleSubmitView,
} from './handlers/index.js';
import { errorResponse, RequestError } from './request-error.js';
import { sameJson } from './same-json.js';
import type { HandlerEnv, RequestHandler, RequestType, RequestSession } from './request-session.js';
import type { ServerKeys } from './server-keys.js';

const handlers: { [T in RequestType]: RequestHandler<T> } = {
  query_posts: handleQueryPosts,
  submit_view: handleSubmitView,
  submit_reaction: handleSubmitReaction,
  revoke_reaction: handleRevokeReaction,
  get_comments: handleGetComments,
};
const REQUEST_TYPES = Object.keys(requestOperations);

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface RequestPipeline {
  /** Unsubscribes, then waits (bounded) for the requests being handled. */
  stop(): Promise<void>;
}

export async function startRequestPipeline(ctx: AppContext, keys: ServerKeys): Promise<RequestPipeline> {
  const inFlight = new Set<Promise<void>>();
  // requests arriving together share one player look-up and one idempotency insert
  const authBatcher = new Batcher((items: { playerKey: string; requestId: string }[]) => findPlayerAuthBatch(ctx.sql, items));
  const rememberBatcher = new Batcher((items: { playerKey: string; requestId: string; response: PlayerResponseMessage }[]) =>
    idempotency.rememberBatch(ctx.sql, items) as Promise<PlayerResponseMessage[]>);
  const count = (name: string) => ctx.metrics.inc(`mqtt_requests_${name}`);

  /** The answer as checked against the response schema (each answer is validated once, here or in remember). */
  const checked = (response: PlayerResponseMessage, what: string): Checked<PlayerResponseMessage> => {
    const ok = PlayerResponseMessageValidator.checked(response);
    if (ok === undefined) throw new Error(`${what} does not match the response schema: ${PlayerResponseMessageValidator.explain(response)}`);
    return ok;
  };

  const send = async (params: PlayerRequestParams, response: Checked<PlayerResponseMessage>): Promise<void> => {
    count(response.success ? 'answered_success' : `answered_${response.error_code}`);
    try {
      await publishChecked(ctx.mqtt, playerResponse, params, response);
    } catch (err) {
      count('publish_failed');
      ctx.log.error({ err, topic_key: params.player_key, request_id: params.request_id }, 'could not publish an MQTT response');
    }
  };

  const fail = async (params: PlayerRequestParams, code: RequestError['code'], message: string): Promise<void> =>
    send(params, checked(errorResponse(params.request_id, code, message), `the ${code} answer`));

  const handle = async (topic: string, bytes: Buffer): Promise<void> => {
    const params = playerRequestTopic.parse(topic);
    if (params === null) {
      count('dropped_topic');
      ctx.log.warn({ topic }, 'MQTT request on a topic that does not parse; dropped');
      return;
    }
    count('received');
    let raw: unknown;
    try {
      raw = JSON.parse(utf8.decode(bytes));
    } catch {
      count('rejected_json');
      return fail(params, 'invalid_request', 'payload: not valid UTF-8 JSON');
    }
    const tag = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>).request_type : undefined;
    if (typeof tag === 'string' && isUnknownTag('request_type', REQUEST_TYPES, raw)) {
      return fail(params, 'unknown_request_type', `request_type: unknown request type ${tag.slice(0, 100)}`);
    }
    const request = PlayerRequestMessageValidator.clean(raw);
    if (!PlayerRequestMessageValidator.check(request)) {
      count('rejected_schema');
      return fail(params, 'invalid_request', PlayerRequestMessageValidator.explain(request) || 'payload: does not match the request schema');
    }
    if (request.player_key.toLowerCase() !== params.player_key.toLowerCase()) {
      return fail(params, 'authentication_failed', 'player_key in the payload does not match the topic');
    }
    if (request.request_id !== params.request_id) {
      return fail(params, 'invalid_request', 'request_id: does not match the last segment of the request topic');
    }

    const found = await authBatcher.add({ playerKey: params.player_key, requestId: params.request_id });
    if (found === null || !found.registered || found.ownerId === null || found.ownerUserId === null) {
      return fail(params, 'authentication_failed', `Player ${params.player_key} is not registered`);
    }
    if (found.stored !== null) {
      count('replayed');
      return send(params, checked(found.stored as PlayerResponseMessage, `the stored answer to request ${params.request_id}`));
    }

    const limits = ctx.config.rateLimits;
    const playerLimitKey = rateLimitKeys.player(params.player_key.toLowerCase());
    const verdict = await ctx.rateLimiter.hit([
      { key: playerLimitKey, limit: limits.perPlayerPerMinute },
      { key: rateLimitKeys.user(found.ownerUserId), limit: limits.perUserPerMinute },
    ]);
    if (!verdict.allowed) {
      const byPlayer = verdict.exceeded.includes(playerLimitKey);
      return fail(
        params,
        'rate_limit_exceeded',
        byPlayer
          ? `Rate limit exceeded (${limits.perPlayerPerMinute} requests per minute per player); retry in ${verdict.retryAfterSeconds} s`
          : `Rate limit exceeded (${limits.perUserPerMinute} requests per minute per user); retry in ${verdict.retryAfterSeconds} s`,
      );
    }

    const session: RequestSession = {
      playerKey: params.player_key,
      requestId: params.request_id,
      ownerId: found.ownerId,
      ownerUserId: found.ownerUserId,
      isModerator: found.isModerator,
    };
    const remember = async (q: Queryable, response: PlayerResponseMessage): Promise<Checked<PlayerResponseMessage>> => {
      const ours = checked(response, `the ${request.request_type} answer`);
      const stored = q === ctx.sql
        ? await rememberBatcher.add({ playerKey: session.playerKey, requestId: session.requestId, response })
        : await idempotency.remember(q, session.playerKey, session.requestId, response);
      // Send our own object when it is the stored one (jsonb does not keep the key order).
      return sameJson(stored, response) ? ours : checked(stored as PlayerResponseMessage, `the stored answer to request ${session.requestId}`);
    };
    const env: HandlerEnv = { ctx, keys, session, remember };
    let answer: Checked<PlayerResponseMessage>;
    try {
      answer = await (handlers[request.request_type] as RequestHandler<RequestType>)(env, request as never);
    } catch (err) {
      if (!(err instanceof RequestError)) throw err;
      answer = await remember(ctx.sql, errorResponse(session.requestId, err.code, err.message));
    }
    return send(params, answer);
  };

  const run = (topic: string, bytes: Buffer): Promise<void> => {
    const job = handle(topic, bytes).catch(async (err: unknown) => {
      count('internal_error');
      ctx.log.error({ err, topic }, 'MQTT request failed with an internal error');
      const params = playerRequestTopic.parse(topic);
      if (params) await send(params, checked(errorResponse(params.request_id, 'internal_error', 'Internal server error'), 'the internal_error answer'));
    });
    inFlight.add(job);
    void job.finally(() => inFlight.delete(job));
    return job;
  };

  const onError = (e: InboundError): void => {
    count(`dropped_${e.reason}`);
    ctx.log.warn({ topic: e.topic, reason: e.reason, detail: e.message }, 'MQTT request not handled');
    if (e.reason === 'too_large') {
      const params = playerRequestTopic.parse(e.topic);
      if (params) fail(params, 'invalid_request', `payload: larger than the ${limits.maxPayloadBytes}-byte limit`).catch((err: unknown) => ctx.log.error({ err }, 'could not answer an oversize request'));
    }
  };

  const filter = playerRequestTopic.shared(ctx.config.broker.shareGroup);
  const unsubscribe = await ctx.router.subscribeRaw(filter, run, { qos: 1, onError });

  return {
    async stop() {
      await unsubscribe().catch((err: unknown) => ctx.log.warn({ err }, 'unsubscribing the request topic failed'));
      const deadline = new Promise((resolve) => setTimeout(resolve, 5000).unref());
      await Promise.race([Promise.allSettled([...inFlight]), deadline]);
    },
  };
}
