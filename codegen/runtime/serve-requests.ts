// The server side of request/response: every request on `.../request/{request_id}` gets exactly one
// answer on `.../response/{request_id}`. The generated `serveRequests` (asyncapi/operations.ts)
// calls this with the spec's channels, operations and error codes; the server brings the handlers
// (generated `RequestHandlers`: each returns its own operation's reply) and the hooks. In order:
//   1. the topic parses (player_key a UUID, request_id a valid segment)   else dropped (observe.dropped 'topic')
//      (a request refused at steps 2-7 counts against the topic player's limit: hooks.limitRefused)
//   2. payload size <= maxPayloadBytes                                    else invalid_request
//   3. the payload is UTF-8 JSON                                          else invalid_request
//   4. the tag (request_type) names a request operation                   else unknown_request_type
//   5. the payload matches its schema (unknown fields are removed first)  else invalid_request naming the field
//   6. payload player_key = topic key (case-insensitive)                  else authentication_failed
//   7. payload request_id = topic segment                                 else invalid_request
//   8. hooks.authenticate: who is asking                                  else its refusal (authentication_failed)
//   9. hooks.replay: an answer already stored for this request            -> sent again, nothing re-done
//  10. hooks.admit: rate limits                                           else its refusal (rate_limit_exceeded)
//  11. the operation's handler. A RequestFailure it throws with a code its operation documents
//      (x-error-codes) becomes the error answer, given to hooks.remember (stored like any answer).
//      The answer is checked against the operation's own reply schema, then published.
// Anything else thrown (by a hook or a handler), an undocumented code or an answer that fails its
// reply schema is a fault: observe.fault, answered internal_error, and nothing stored.
import type { MqttClient } from 'mqtt';
import type { ChannelDef } from './channel.js';
import { isUnknownTag } from './discriminated.js';
import { publishChecked } from './publish.js';
import type { RequestSpec, RequestTopicParams } from './request.js';
import type { InboundError, MessageRouter } from './subscribe.js';
import type { Checked, Validator } from './validator.js';

/** The codes the pipeline itself answers (the generated code checks that ErrorCode has them). */
export type PipelineErrorCode = 'invalid_request' | 'unknown_request_type' | 'authentication_failed' | 'rate_limit_exceeded' | 'internal_error';
export const pipelineErrorCodes: readonly PipelineErrorCode[] = ['invalid_request', 'unknown_request_type', 'authentication_failed', 'rate_limit_exceeded', 'internal_error'];

/** An error answer: `{request_id, success: false, error, error_code}`. */
export interface ErrorAnswer<C extends string = string> {
  request_id: string;
  success: false;
  error: string;
  error_code: C;
}

const MAX_ERROR_TEXT = 1000;

/** The error answer to `requestId`; the message is cut to the schema's 1000 characters. */
export function errorAnswer<C extends string>(requestId: string, code: C, message: string): ErrorAnswer<C> {
  const text = message.length === 0 ? code : message.length > MAX_ERROR_TEXT ? `${message.slice(0, MAX_ERROR_TEXT - 3)}...` : message;
  return { request_id: requestId, success: false, error: text, error_code: code };
}

/**
 * An expected failure of one request type, thrown by its handler (or code it calls) and answered as
 * `{success: false, error, error_code}`. Build it with the generated `requestFailure(type, code, message)`,
 * which only compiles for a code the operation documents.
 */
export class RequestFailure extends Error {
  override readonly name = 'RequestFailure';
  constructor(
    /** The request types it may answer (the one that threw it, or those of a helper shared by several). */
    readonly requestTypes: readonly string[],
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A refusal by a hook (steps 8 and 10). */
export interface Refusal {
  refuse: 'authentication_failed' | 'rate_limit_exceeded';
  message: string;
}

/** What serveRequests knows of one request operation (generated: `requestOperations`). */
export interface ServedOperation {
  operationId: string;
  spec: RequestSpec<unknown, unknown>;
  /** The codes its handler may answer (x-error-codes). */
  errorCodes: readonly string[];
}

export interface RequestHooks<S> {
  /** 8. Who is asking; a refusal answers `authentication_failed` (or what it names). */
  authenticate(params: RequestTopicParams, requestType: string): Promise<S | Refusal>;
  /** 9. The answer already stored for this request, if any (sent again as is). */
  replay(session: S): unknown;
  /** 10. Rate limits; a refusal is answered, nothing is handled. */
  admit(session: S): Promise<Refusal | undefined>;
  /** 11. Stores an expected failure like any answer; returns what to send (a stored answer may win a race). */
  remember(session: S, answer: ErrorAnswer): Promise<unknown>;
  /**
   * Steps 2-7: counts a malformed request against the topic's player (only that player may publish
   * there); a refusal is answered instead of the malformed request's own error.
   */
  limitRefused?(params: RequestTopicParams): Promise<Refusal | undefined>;
}

/** Events for counters and logs; all optional. */
export interface RequestObserver {
  received?(params: RequestTopicParams): void;
  /** A message that was not answered ('topic') or could not be (answer not published). */
  dropped?(reason: 'topic' | 'publish_failed', detail: { topic: string; error?: unknown }): void;
  /** Each answer published: the request type when known, and `success` or the error code. */
  answered?(requestType: string | undefined, outcome: string): void;
  /** Each answer once its publish completed (QoS 1: acknowledged), with the seconds since the request arrived. */
  published?(requestType: string | undefined, outcome: string, seconds: number): void;
  replayed?(requestType: string): void;
  /** A fault: answered internal_error, not stored. */
  fault?(error: unknown, detail: { topic: string; requestType?: string }): void;
}

export interface ServeRequestsOptions<S> {
  client: MqttClient;
  router: MessageRouter;
  request: ChannelDef<RequestTopicParams, unknown>;
  response: ChannelDef<RequestTopicParams, unknown>;
  /** The tag property telling request types apart, e.g. request_type. */
  tag: string;
  operations: Readonly<Record<string, ServedOperation>>;
  handlers: Readonly<Record<string, (request: never, session: S) => Promise<unknown>>>;
  hooks: RequestHooks<S>;
  /** Subscribe as `$share/<share>/...` so several instances split the requests. */
  share?: string;
  maxPayloadBytes: number;
  observe?: RequestObserver;
  /** How long stop() waits for requests in flight, in ms (default 5000). */
  stopTimeoutMs?: number;
}

export interface ServedRequests {
  /** Unsubscribes, then waits (bounded) for the requests being handled. */
  stop(): Promise<void>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Fault extends Error {}

function isRefusal(x: unknown): x is Refusal {
  return typeof x === 'object' && x !== null && typeof (x as Refusal).refuse === 'string' && typeof (x as Refusal).message === 'string';
}

export async function serveRequests<S>(opts: ServeRequestsOptions<S>): Promise<ServedRequests> {
  const { client, router, request: requestChannel, response, tag, operations, handlers, hooks, observe = {} } = opts;
  const requestTypes = Object.keys(operations);
  for (const t of requestTypes) {
    if (typeof handlers[t] !== 'function') throw new Error(`serveRequests: no handler for request type ${t}`);
  }
  const inFlight = new Set<Promise<void>>();
  /** When each request arrived (performance.now()), for observe.published. */
  const arrivals = new WeakMap<RequestTopicParams, number>();
  const responseValidator = response.message as Validator<unknown>;

  const send = async (params: RequestTopicParams, requestType: string | undefined, answer: Checked<unknown>): Promise<void> => {
    const a = answer as { success?: unknown; error_code?: unknown };
    const outcome = a.success === true ? 'success' : String(a.error_code);
    observe.answered?.(requestType, outcome);
    try {
      await publishChecked(client, response, params, answer);
    } catch (error) {
      observe.dropped?.('publish_failed', { topic: response.topic.format(params), error });
      return;
    }
    const arrived = arrivals.get(params);
    if (arrived !== undefined) observe.published?.(requestType, outcome, (performance.now() - arrived) / 1000);
  };

  const fail = (params: RequestTopicParams, requestType: string | undefined, code: string, message: string): Promise<void> => {
    const answer = responseValidator.checked(errorAnswer(params.request_id, code, message));
    if (answer === undefined) throw new Fault(`the ${code} answer does not match the response schema`);
    return send(params, requestType, answer);
  };

  /**
   * Steps 2-7 refuse a request before anyone knows who sent it: each refusal still counts against
   * the sender's limit (hooks.limitRefused), so malformed requests cannot be sent without bound;
   * over the limit they are answered like any request over it.
   */
  const malformed = async (params: RequestTopicParams, requestType: string | undefined, code: string, message: string): Promise<void> => {
    const over = hooks.limitRefused ? await hooks.limitRefused(params) : undefined;
    if (over) return fail(params, requestType, over.refuse, over.message);
    return fail(params, requestType, code, message);
  };

  /** The answer as checked against the operation's reply schema; a mismatch is a fault. */
  const checkReply = (op: ServedOperation, requestType: string, answer: unknown, what: string): Checked<unknown> => {
    const v = op.spec.response.message;
    const ok = v.checked(answer);
    if (ok === undefined) throw new Fault(`${what} to ${requestType} does not match its reply schema: ${v.explain(answer)}`);
    return ok;
  };

  /** Handles one request; `known.type` is set as soon as the request type is known (for fault reports). */
  const handle = async (params: RequestTopicParams, bytes: Buffer, known: { type?: string }): Promise<void> => {
    observe.received?.(params);
    if (bytes.length > opts.maxPayloadBytes) {
      await malformed(params, undefined, 'invalid_request', `payload: larger than the ${opts.maxPayloadBytes}-byte limit`);
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(utf8.decode(bytes));
    } catch {
      await malformed(params, undefined, 'invalid_request', 'payload: not valid UTF-8 JSON');
      return;
    }
    const tagValue = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)[tag] : undefined;
    if (typeof tagValue === 'string' && isUnknownTag(tag, requestTypes, raw)) {
      await malformed(params, undefined, 'unknown_request_type', `${tag}: unknown request type ${tagValue.slice(0, 100)}`);
      return;
    }
    const v = requestChannel.message;
    const payload = v.clean(raw);
    if (!v.check(payload)) {
      await malformed(params, undefined, 'invalid_request', v.explain(payload) || 'payload: does not match the request schema');
      return;
    }
    const req = payload as Record<string, unknown> & RequestTopicParams;
    const requestType = String(req[tag]);
    known.type = requestType;
    const op = operations[requestType];
    if (String(req.player_key).toLowerCase() !== params.player_key.toLowerCase()) {
      await malformed(params, requestType, 'authentication_failed', 'player_key in the payload does not match the topic');
      return;
    }
    if (req.request_id !== params.request_id) {
      await malformed(params, requestType, 'invalid_request', 'request_id: does not match the last segment of the request topic');
      return;
    }

    const who = await hooks.authenticate(params, requestType);
    if (isRefusal(who)) {
      await fail(params, requestType, who.refuse, who.message);
      return;
    }
    const session = who;
    const stored = hooks.replay(session);
    if (stored !== undefined && stored !== null) {
      observe.replayed?.(requestType);
      const again = responseValidator.checked(stored);
      if (again === undefined) throw new Fault(`the stored answer to request ${params.request_id} does not match the response schema`);
      await send(params, requestType, again);
      return;
    }
    const refusal = await hooks.admit(session);
    if (refusal) {
      await fail(params, requestType, refusal.refuse, refusal.message);
      return;
    }

    let answer: Checked<unknown>;
    try {
      answer = checkReply(op, requestType, await handlers[requestType](payload as never, session), 'the answer');
    } catch (err) {
      if (!(err instanceof RequestFailure)) throw err;
      if (!err.requestTypes.includes(requestType) || !op.errorCodes.includes(err.code)) {
        throw new Fault(`the ${requestType} handler failed with ${err.code}, which its operation does not document (x-error-codes: ${op.errorCodes.join(', ') || 'none'}): ${err.message}`);
      }
      const kept = await hooks.remember(session, errorAnswer(params.request_id, err.code, err.message));
      answer = checkReply(op, requestType, kept, 'the error answer');
    }
    await send(params, requestType, answer);
  };

  const run = (topic: string, bytes: Buffer): Promise<void> => {
    const params = requestChannel.topic.parse(topic);
    if (params === null) {
      observe.dropped?.('topic', { topic });
      return Promise.resolve();
    }
    if (observe.published) arrivals.set(params, performance.now());
    const known: { type?: string } = {};
    const job = handle(params, bytes, known).catch(async (err: unknown) => {
      observe.fault?.(err, { topic, requestType: known.type });
      await fail(params, known.type, 'internal_error', 'Internal server error').catch((e: unknown) => observe.fault?.(e, { topic, requestType: known.type }));
    });
    inFlight.add(job);
    void job.finally(() => inFlight.delete(job));
    return job;
  };

  const onError = (e: InboundError): void => {
    // the router refuses a payload over its own limit before it reaches run(): answer it here
    if (e.reason !== 'too_large') return;
    const params = requestChannel.topic.parse(e.topic);
    if (params === null) {
      observe.dropped?.('topic', { topic: e.topic });
      return;
    }
    if (observe.published) arrivals.set(params, performance.now());
    observe.received?.(params);
    malformed(params, undefined, 'invalid_request', `payload: larger than the ${opts.maxPayloadBytes}-byte limit`).catch((err: unknown) => observe.fault?.(err, { topic: e.topic }));
  };

  const filter = opts.share !== undefined ? requestChannel.topic.shared(opts.share) : requestChannel.topic.filter();
  const unsubscribe = await router.subscribeRaw(filter, run, { qos: requestChannel.qos, onError });

  return {
    async stop() {
      await unsubscribe();
      const deadline = new Promise((resolve) => setTimeout(resolve, opts.stopTimeoutMs ?? 5000).unref());
      await Promise.race([Promise.allSettled([...inFlight]), deadline]);
    },
  };
}
