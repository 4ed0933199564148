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
//      then: while the breaker is open (the hooks' store failing)          internal_error at once, no hook called
//      and: a copy of a request still being handled (same key and id)      not handled, not counted: gets the first's answer
//   8. hooks.authenticate: who is asking                                  else its refusal (authentication_failed)
//   9. hooks.replay: an answer already stored for this request            -> sent again, nothing re-done
//  10. hooks.admit: rate limits                                           else its refusal (rate_limit_exceeded)
//  11. the operation's handler. A RequestFailure it throws with a code its operation documents
//      (x-error-codes) becomes the error answer, given to hooks.remember (stored like any answer).
//      The answer is checked against the operation's own reply schema, then published.
// Anything else thrown (by a hook or a handler), an undocumented code or an answer that fails its
// reply schema is a fault: observe.fault, answered internal_error, and nothing stored. A request not
// answered within deadlineMs is answered internal_error then (fail fast: the firmware retries after
// 10 s); hook faults and missed deadlines in a row open the breaker for a cooldown.
import type { IPublishPacket, MqttClient } from 'mqtt';
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
  /** A copy of a request still being handled arrived (a redelivery or a device retry): not handled, not counted again. */
  joined?(requestType: string): void;
  /** The circuit breaker opened (the hooks' store is failing) or closed again. */
  breaker?(state: 'open' | 'closed'): void;
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
  /**
   * A request not answered within this many ms is answered internal_error (nothing stored; its
   * late answer, if any, is stored by the handler and sent only to a redelivery). Default 5000:
   * well inside the firmware's 10 s, so an outage does not turn into a storm of retries.
   */
  deadlineMs?: number;
  /**
   * Fail fast while the hooks' store is down: after `failures` hook faults or missed deadlines in
   * a row, requests are answered internal_error at once (no hook called) for `cooldownMs`, then one
   * is let through to probe. Default { failures: 5, cooldownMs: 2000 }.
   */
  breaker?: { failures: number; cooldownMs: number };
  /**
   * Called with each request's packet once its answer is published (or, for a message on a topic
   * that is not a request topic, at once): with manualAcks(client).ack, the broker keeps a request
   * until it is answered, and sends it again to the session when the process died first.
   */
  acknowledge?(packet: IPublishPacket): void;
  /**
   * stop() keeps the subscription (default false: it unsubscribes): for a persistent session, the
   * broker goes on queueing this instance's share of the requests while it is away; requests that
   * arrive while stopping are neither handled nor acknowledged (they come again on its return).
   */
  keepSubscriptionOnStop?: boolean;
}

export interface ServedRequests {
  /** Unsubscribes, then waits (bounded) for the requests being handled. */
  stop(): Promise<void>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

class Fault extends Error {}

/** One arrival of a request: its topic parameters, its type once known, whether it has been answered. */
interface Call {
  params: RequestTopicParams;
  type?: string;
  answered: boolean;
  /** The answer sent (for copies of the request arriving meanwhile). */
  answer?: Checked<unknown>;
  /** performance.now() at arrival, when observe.published wants durations. */
  arrivedAt?: number;
  /** The MQTT packet, acknowledged (opts.acknowledge) once the answer is published. */
  packet?: IPublishPacket;
}

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
  const deadlineMs = opts.deadlineMs ?? 5000;
  const responseValidator = response.message as Validator<unknown>;

  const send = async (call: Call, requestType: string | undefined, answer: Checked<unknown>): Promise<void> => {
    // one answer per arrival: a request answered at its deadline does not get a second, late one
    if (call.answered) return;
    call.answered = true;
    call.answer = answer;
    const params = call.params;
    const a = answer as { success?: unknown; error_code?: unknown };
    const outcome = a.success === true ? 'success' : String(a.error_code);
    observe.answered?.(requestType, outcome);
    try {
      await publishChecked(client, response, params, answer);
    } catch (error) {
      // not acknowledged: with a persistent session the broker sends the request again
      observe.dropped?.('publish_failed', { topic: response.topic.format(params), error });
      return;
    }
    if (call.packet) opts.acknowledge?.(call.packet);
    if (call.arrivedAt !== undefined) observe.published?.(requestType, outcome, (performance.now() - call.arrivedAt) / 1000);
  };

  const fail = (call: Call, requestType: string | undefined, code: string, message: string): Promise<void> => {
    const answer = responseValidator.checked(errorAnswer(call.params.request_id, code, message));
    if (answer === undefined) throw new Fault(`the ${code} answer does not match the response schema`);
    return send(call, requestType, answer);
  };

  // ---- fail fast: the circuit breaker over the hooks (their store) ----
  const breakerOpts = opts.breaker ?? { failures: 5, cooldownMs: 2000 };
  let failuresInARow = 0;
  let openUntil = 0;
  const tripped = (): void => {
    failuresInARow += 1;
    if (failuresInARow >= breakerOpts.failures && openUntil <= Date.now()) {
      if (openUntil === 0) observe.breaker?.('open');
      openUntil = Date.now() + breakerOpts.cooldownMs;
    }
  };
  const recovered = (): void => {
    failuresInARow = 0;
    if (openUntil !== 0) {
      openUntil = 0;
      observe.breaker?.('closed');
    }
  };
  /** A hook call: its failure counts toward opening the breaker, its success closes it. */
  const hook = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      const r = await f();
      recovered();
      return r;
    } catch (err) {
      tripped();
      throw err;
    }
  };

  // ---- one handling per (player, request_id) at a time; copies get the first one's answer ----
  const handling = new Map<string, Promise<Checked<unknown> | undefined>>();

  /**
   * Steps 2-7 refuse a request before anyone knows who sent it: each refusal still counts against
   * the sender's limit (hooks.limitRefused), so malformed requests cannot be sent without bound;
   * over the limit they are answered like any request over it.
   */
  const malformed = async (call: Call, requestType: string | undefined, code: string, message: string): Promise<void> => {
    const limit = hooks.limitRefused;
    const over = limit && openUntil <= Date.now() ? await hook(() => limit(call.params)) : undefined;
    if (over) return fail(call, requestType, over.refuse, over.message);
    return fail(call, requestType, code, message);
  };

  /** The answer as checked against the operation's reply schema; a mismatch is a fault. */
  const checkReply = (op: ServedOperation, requestType: string, answer: unknown, what: string): Checked<unknown> => {
    const v = op.spec.response.message;
    const ok = v.checked(answer);
    if (ok === undefined) throw new Fault(`${what} to ${requestType} does not match its reply schema: ${v.explain(answer)}`);
    return ok;
  };

  /** Handles one request; `call.type` is set as soon as the request type is known (for fault reports). */
  const handle = async (call: Call, bytes: Buffer): Promise<void> => {
    const params = call.params;
    observe.received?.(params);
    if (bytes.length > opts.maxPayloadBytes) {
      await malformed(call, undefined, 'invalid_request', `payload: larger than the ${opts.maxPayloadBytes}-byte limit`);
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(utf8.decode(bytes));
    } catch {
      await malformed(call, undefined, 'invalid_request', 'payload: not valid UTF-8 JSON');
      return;
    }
    const tagValue = typeof raw === 'object' && raw !== null ? (raw as Record<string, unknown>)[tag] : undefined;
    if (typeof tagValue === 'string' && isUnknownTag(tag, requestTypes, raw)) {
      await malformed(call, undefined, 'unknown_request_type', `${tag}: unknown request type ${tagValue.slice(0, 100)}`);
      return;
    }
    const v = requestChannel.message;
    const payload = v.clean(raw);
    if (!v.check(payload)) {
      await malformed(call, undefined, 'invalid_request', v.explain(payload) || 'payload: does not match the request schema');
      return;
    }
    const req = payload as Record<string, unknown> & RequestTopicParams;
    const requestType = String(req[tag]);
    call.type = requestType;
    const op = operations[requestType];
    if (String(req.player_key).toLowerCase() !== params.player_key.toLowerCase()) {
      await malformed(call, requestType, 'authentication_failed', 'player_key in the payload does not match the topic');
      return;
    }
    if (req.request_id !== params.request_id) {
      await malformed(call, requestType, 'invalid_request', 'request_id: does not match the last segment of the request topic');
      return;
    }

    if (openUntil > Date.now()) {
      await fail(call, requestType, 'internal_error', 'The server cannot reach its database; retry later');
      return;
    }
    const key = `${params.player_key.toLowerCase()}|${params.request_id}`;
    const first = handling.get(key);
    if (first) {
      // a copy (redelivery or device retry) of a request being handled: neither handled nor counted
      // against the rate limit again; it is answered with the first copy's answer
      observe.joined?.(requestType);
      const answer = await first;
      if (answer === undefined) throw new Fault(`the first copy of request ${params.request_id} was not answered`);
      await send(call, requestType, answer);
      return;
    }
    const done = handleValid(call, op, requestType, payload).then(() => call.answer);
    handling.set(key, done.catch(() => undefined));
    try {
      await done;
    } finally {
      handling.delete(key);
    }
  };

  /** Steps 8-11 for a valid request no other copy of which is being handled. */
  const handleValid = async (call: Call, op: ServedOperation, requestType: string, payload: unknown): Promise<void> => {
    const params = call.params;
    const who = await hook(() => hooks.authenticate(params, requestType));
    if (isRefusal(who)) {
      await fail(call, requestType, who.refuse, who.message);
      return;
    }
    const session = who;
    const stored = hooks.replay(session);
    if (stored !== undefined && stored !== null) {
      observe.replayed?.(requestType);
      const again = responseValidator.checked(stored);
      if (again === undefined) throw new Fault(`the stored answer to request ${params.request_id} does not match the response schema`);
      await send(call, requestType, again);
      return;
    }
    const refusal = await hook(() => hooks.admit(session));
    if (refusal) {
      await fail(call, requestType, refusal.refuse, refusal.message);
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
      const kept = await hook(() => hooks.remember(session, errorAnswer(params.request_id, err.code, err.message)));
      answer = checkReply(op, requestType, kept, 'the error answer');
    }
    await send(call, requestType, answer);
  };

  let stopping = false;
  const run = (topic: string, bytes: Buffer, packet?: IPublishPacket): Promise<void> => {
    // stopping with the subscription kept: left unacknowledged for this session's next connection
    if (stopping && opts.keepSubscriptionOnStop) return Promise.resolve();
    const params = requestChannel.topic.parse(topic);
    if (params === null) {
      observe.dropped?.('topic', { topic });
      if (packet) opts.acknowledge?.(packet);
      return Promise.resolve();
    }
    const call: Call = { params, answered: false, arrivedAt: observe.published ? performance.now() : undefined, packet };
    const internal = (err: unknown, message: string): Promise<void> => {
      observe.fault?.(err, { topic, requestType: call.type });
      return fail(call, call.type, 'internal_error', message).catch((e: unknown) => observe.fault?.(e, { topic, requestType: call.type }));
    };
    // the deadline answers for a request still waiting (e.g. on an unreachable database)
    const timer = setTimeout(() => {
      if (call.answered) return;
      tripped();
      void internal(new Error(`no answer to ${call.type ?? 'a request'} within ${deadlineMs} ms`), 'The server could not answer in time; retry later');
    }, deadlineMs);
    const job = handle(call, bytes)
      .catch((err: unknown) => internal(err, 'Internal server error'))
      .finally(() => clearTimeout(timer));
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
    observe.received?.(params);
    malformed({ params, answered: false, arrivedAt: observe.published ? performance.now() : undefined, packet: e.packet }, undefined, 'invalid_request', `payload: larger than the ${opts.maxPayloadBytes}-byte limit`).catch((err: unknown) => observe.fault?.(err, { topic: e.topic }));
  };

  const filter = opts.share !== undefined ? requestChannel.topic.shared(opts.share) : requestChannel.topic.filter();
  const unsubscribe = await router.subscribeRaw(filter, run, { qos: requestChannel.qos, onError });

  return {
    async stop() {
      stopping = true;
      if (!opts.keepSubscriptionOnStop) await unsubscribe();
      const deadline = new Promise((resolve) => setTimeout(resolve, opts.stopTimeoutMs ?? 5000).unref());
      await Promise.race([Promise.allSettled([...inFlight]), deadline]);
    },
  };
}
