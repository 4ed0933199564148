// The player side of request/response: publish a request on `.../request/{request_id}` and wait
// for the response on `.../response/{request_id}`, matched by the topic's request_id.
import type { MqttClient } from 'mqtt';
import type { ChannelDef } from './channel.js';
import { publish } from './publish.js';
import type { MessageRouter, Unsubscribe } from './subscribe.js';
import type { TopicTemplate } from './topic.js';
import type { ValidationIssue } from './validation-issues.js';

export type RequestTopicParams = { player_key: string; request_id: string };

export interface RequestSpec<Req, Res> {
  request: ChannelDef<RequestTopicParams, Req>;
  response: ChannelDef<RequestTopicParams, Res>;
}

export interface RequesterOptions {
  /** Default time to wait for a response, in ms. Default 30000. */
  timeoutMs?: number;
  /** The response topic template; when given, start() subscribes to it before any request. */
  responseTopic?: TopicTemplate<RequestTopicParams>;
}

export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
  constructor(
    readonly requestId: string,
    readonly timeoutMs: number,
  ) {
    super(`no response to request ${requestId} within ${timeoutMs} ms`);
  }
}

export class ResponseValidationError extends Error {
  override readonly name = 'ResponseValidationError';
  constructor(
    readonly requestId: string,
    readonly reason: 'json' | 'schema',
    detail: string,
    readonly issues: ValidationIssue[] = [],
    readonly raw?: unknown,
  ) {
    super(`invalid response to request ${requestId}: ${detail}`);
  }
}

interface Pending {
  spec: RequestSpec<unknown, unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class Requester {
  private readonly pending = new Map<string, Pending>();
  private readonly subscriptions = new Map<string, Promise<Unsubscribe>>();
  private readonly timeoutMs: number;
  private closed = false;

  constructor(
    private readonly client: MqttClient,
    private readonly router: MessageRouter,
    readonly playerKey: string,
    private readonly opts: RequesterOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  /** Subscribes to this player's responses (`.../response/#`) when a responseTopic was given. */
  async start(): Promise<void> {
    if (this.opts.responseTopic) await this.ensureSubscribed(this.opts.responseTopic);
  }

  /**
   * Publishes the request and resolves with the validated response whose topic request_id matches.
   * The response topic is subscribed (and granted) before the request goes out.
   */
  async request<Req extends { request_id: string }, Res>(
    spec: RequestSpec<Req, Res>,
    payload: NoInfer<Req>,
    opts: { timeoutMs?: number } = {},
  ): Promise<Res> {
    if (this.closed) throw new Error('Requester is closed');
    await this.ensureSubscribed(spec.response.topic);
    const requestId = payload.request_id;
    if (this.pending.has(requestId)) throw new Error(`request ${requestId} is already waiting for its response`);
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new RequestTimeoutError(requestId, timeoutMs));
      }, timeoutMs);
      this.pending.set(requestId, { spec: spec as RequestSpec<unknown, unknown>, resolve: resolve as (v: unknown) => void, reject, timer });
      publish(this.client, spec.request, { player_key: this.playerKey, request_id: requestId }, payload).catch((err: unknown) => {
        if (this.settle(requestId)) reject(err);
      });
    });
  }

  /** Unsubscribes and rejects every request still waiting. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const [id, p] of [...this.pending]) {
      this.settle(id);
      p.reject(new Error(`Requester closed before the response to request ${id}`));
    }
    const subs = [...this.subscriptions.values()];
    this.subscriptions.clear();
    await Promise.allSettled(subs.map(async (s) => (await s)()));
  }

  private async ensureSubscribed(template: TopicTemplate<RequestTopicParams>): Promise<void> {
    const filter = template.filterRest({ player_key: this.playerKey });
    let sub = this.subscriptions.get(filter);
    if (!sub) {
      sub = this.router.subscribeRaw(filter, (topic, bytes) => this.onResponse(template, topic, bytes), { qos: 1 });
      this.subscriptions.set(filter, sub);
      sub.catch(() => this.subscriptions.delete(filter));
    }
    await sub;
  }

  private settle(requestId: string): Pending | undefined {
    const p = this.pending.get(requestId);
    if (!p) return undefined;
    this.pending.delete(requestId);
    clearTimeout(p.timer);
    return p;
  }

  private onResponse(template: TopicTemplate<RequestTopicParams>, topic: string, bytes: Buffer): void {
    const params = template.parse(topic);
    if (!params || params.player_key !== this.playerKey) return;
    const waiting = this.pending.get(params.request_id);
    // Late (after a timeout) or duplicate responses are expected with at-least-once delivery.
    if (!waiting || !waiting.spec.response.topic.matches(topic)) return;
    const p = this.settle(params.request_id)!;
    const validator = p.spec.response.message;
    let raw: unknown;
    try {
      raw = JSON.parse(utf8.decode(bytes));
    } catch (err) {
      p.reject(new ResponseValidationError(params.request_id, 'json', `payload is not valid UTF-8 JSON (${(err as Error).message})`));
      return;
    }
    const payload = validator.clean(raw);
    if (!validator.check(payload)) {
      p.reject(new ResponseValidationError(params.request_id, 'schema', validator.explain(payload), validator.issues(payload), raw));
      return;
    }
    p.resolve(payload);
  }
}
