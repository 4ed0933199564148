// The message router: one per mqtt.js client. It installs ONE 'message' listener and hands each
// message to the subscriptions whose filter matches, each on its own (handlers run concurrently).
// Bad topics, bad JSON, schema failures, oversize payloads and failing handlers are reported to
// onError; nothing ever throws into mqtt.js.
//
// With MQTT 5 every filter gets a subscription identifier, so a message is dispatched to exactly
// the subscriptions the broker matched it with (overlapping filters, `$share` next to a plain
// subscription); 3.1.1 connections fall back to matching the filters locally.
import type { IClientSubscribeOptions, IPublishPacket, MqttClient } from 'mqtt';
import type { ChannelDef } from './channel.js';
import type { TopicParams } from './topic.js';
import { isValidFilter, topicMatchesFilter } from './topic-filter.js';
import type { ValidationIssue } from './validation-issues.js';
import { SubscribeError } from './subscribe-error.js';

export { SubscribeError } from './subscribe-error.js';

export interface InboundMessage<P, M> {
  topic: string;
  params: P;
  /** The validated payload, with fields the schema does not declare removed. */
  payload: M;
  packet: IPublishPacket;
}

export type InboundErrorReason = 'topic' | 'json' | 'schema' | 'too_large' | 'handler';

export interface InboundError {
  topic: string;
  reason: InboundErrorReason;
  /** For 'schema' this is the field list, e.g. "limit: must be <= 50; request_id: is required". */
  message: string;
  issues?: ValidationIssue[];
  /** The parsed JSON, when it parsed. */
  raw?: unknown;
  /** The topic parameters, when the topic parsed. */
  params?: Record<string, unknown>;
  /** The channel of the subscription, for typed subscriptions. */
  channelId?: string;
  /** What the handler threw (reason 'handler'). */
  error?: unknown;
  /** The MQTT packet (reason 'too_large'), e.g. to acknowledge it (manualAcks). */
  packet?: IPublishPacket;
}

export type InboundErrorHandler = (e: InboundError) => void;

export interface RouterOptions {
  /** Payloads larger than this are dropped with reason 'too_large'. Default 131072 (128 KiB). */
  maxPayloadBytes?: number;
  /** Where errors go when a subscription has no onError of its own. Default: console.warn. */
  onError?: InboundErrorHandler;
  /** Use MQTT 5 subscription identifiers for dispatch (default true; ignored on 3.1.1). */
  subscriptionIdentifiers?: boolean;
}

export interface SubscribeOptions<P> {
  /** Parameters fixed in the filter; the others become `+`. */
  fixed?: Partial<P>;
  /** Subscribe as `$share/<share>/...` (several instances split the load). */
  share?: string;
  /** Default: the channel's QoS. */
  qos?: 0 | 1 | 2;
  onError?: InboundErrorHandler;
}

export interface RawSubscribeOptions {
  qos?: 0 | 1 | 2;
  onError?: InboundErrorHandler;
}

/** Gets the raw bytes of every message matching a filter (size already checked). */
export type RawHandler = (topic: string, payload: Buffer, packet: IPublishPacket) => void | Promise<void>;

export type Unsubscribe = () => Promise<void>;

interface Entry {
  handler: RawHandler;
  onError?: InboundErrorHandler;
  channelId?: string;
}

interface Group {
  filter: string;
  id: number;
  qos: 0 | 1 | 2;
  entries: Set<Entry>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class MessageRouter {
  private readonly groups = new Map<string, Group>();
  private readonly byId = new Map<number, Group>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxPayloadBytes: number;
  private readonly onError: InboundErrorHandler;
  private readonly useIds: boolean;
  private readonly listener: (topic: string, payload: Buffer, packet: IPublishPacket) => void;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly client: MqttClient,
    opts: RouterOptions = {},
  ) {
    this.maxPayloadBytes = opts.maxPayloadBytes ?? 128 * 1024;
    this.onError = opts.onError ?? defaultOnError;
    this.useIds = (opts.subscriptionIdentifiers ?? true) && client.options.protocolVersion === 5;
    this.listener = (topic, payload, packet) => this.dispatch(topic, payload, packet);
    client.on('message', this.listener);
  }

  /** Subscribes a handler to a channel; resolves once the broker granted it (SUBACK), with the function that unsubscribes. */
  subscribe<P extends TopicParams, M>(
    ch: ChannelDef<P, M>,
    handler: (m: InboundMessage<P, M>) => void | Promise<void>,
    opts: SubscribeOptions<P> = {},
  ): Promise<Unsubscribe> {
    let filter: string;
    try {
      filter = opts.share !== undefined ? ch.topic.shared(opts.share, opts.fixed) : ch.topic.filter(opts.fixed);
    } catch (err) {
      return Promise.reject(err);
    }
    const typed: RawHandler = (topic, bytes, packet) => {
      const params = ch.topic.parse(topic);
      const fail = (e: Omit<InboundError, 'topic' | 'channelId'>): void => this.report(entry, { topic, channelId: ch.id, ...e });
      if (params === null) {
        return fail({ reason: 'topic', message: `topic does not match ${ch.topic.address} or a parameter fails its check` });
      }
      let raw: unknown;
      try {
        raw = JSON.parse(utf8.decode(bytes));
      } catch (err) {
        return fail({ reason: 'json', message: `payload is not valid UTF-8 JSON (${(err as Error).message})`, params });
      }
      const payload = ch.message.clean(raw);
      if (!ch.message.check(payload)) {
        const issues = ch.message.issues(payload);
        return fail({ reason: 'schema', message: ch.message.explain(payload), issues, raw, params });
      }
      return handler({ topic, params, payload, packet });
    };
    const entry: Entry = { handler: typed, onError: opts.onError, channelId: ch.id };
    return this.add(filter, entry, opts.qos ?? ch.qos);
  }

  /** Subscribes a raw handler to any filter (used by the Requester, and for tools that read bytes). */
  subscribeRaw(filter: string, handler: RawHandler, opts: RawSubscribeOptions = {}): Promise<Unsubscribe> {
    return this.add(filter, { handler, onError: opts.onError }, opts.qos ?? 1);
  }

  /** Resolves when every handler started so far has settled. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Removes the listener and unsubscribes every filter; in-flight handlers keep running (see idle()). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.removeListener('message', this.listener);
    const filters = [...this.groups.keys()];
    this.groups.clear();
    this.byId.clear();
    await Promise.allSettled(filters.map((f) => this.unsubscribeFilter(f)));
  }

  private async add(filter: string, entry: Entry, qos: 0 | 1 | 2): Promise<Unsubscribe> {
    if (this.closed) throw new Error('MessageRouter is closed');
    if (!isValidFilter(filter)) throw new Error(`invalid MQTT topic filter "${filter}"`);
    let group = this.groups.get(filter);
    if (!group) {
      group = { filter, id: this.nextId++, qos, entries: new Set() };
      this.groups.set(filter, group);
      this.byId.set(group.id, group);
    }
    const g = group;
    // Registered before SUBSCRIBE goes out: a message may arrive before the SUBACK promise resolves.
    g.entries.add(entry);
    g.qos = Math.max(g.qos, qos) as 0 | 1 | 2;
    try {
      const options: IClientSubscribeOptions = { qos: g.qos };
      if (this.useIds) options.properties = { subscriptionIdentifier: g.id };
      const grants = await this.client.subscribeAsync(filter, options);
      const refused = grants.find((grant) => grant.qos >= 0x80);
      if (refused) throw new SubscribeError(filter, refused.qos);
    } catch (err) {
      this.remove(g, entry);
      throw err instanceof SubscribeError ? err : SubscribeError.from(filter, err);
    }
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      if (this.remove(g, entry)) await this.unsubscribeFilter(filter);
    };
  }

  /** Drops an entry; true when its group became empty (and was dropped). */
  private remove(g: Group, entry: Entry): boolean {
    g.entries.delete(entry);
    if (g.entries.size > 0 || this.groups.get(g.filter) !== g) return false;
    this.groups.delete(g.filter);
    this.byId.delete(g.id);
    return true;
  }

  private async unsubscribeFilter(filter: string): Promise<void> {
    if (!this.client.connected) {
      this.client.unsubscribe(filter, () => undefined);
      return;
    }
    await this.client.unsubscribeAsync(filter);
  }

  private dispatch(topic: string, payload: Buffer, packet: IPublishPacket): void {
    try {
      const ids = packet.properties?.subscriptionIdentifier;
      const groups: Group[] =
        this.useIds && ids !== undefined
          ? ([] as number[]).concat(ids).flatMap((id) => this.byId.get(id) ?? [])
          : [...this.groups.values()].filter((g) => topicMatchesFilter(g.filter, topic));
      const entries = new Set<Entry>();
      for (const g of groups) for (const e of g.entries) entries.add(e);
      for (const entry of entries) this.deliver(entry, topic, payload, packet);
    } catch (err) {
      this.report(undefined, { topic, reason: 'handler', message: `dispatch failed: ${String(err)}`, error: err });
    }
  }

  private deliver(entry: Entry, topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (payload.length > this.maxPayloadBytes) {
      this.report(entry, {
        topic,
        channelId: entry.channelId,
        reason: 'too_large',
        message: `payload of ${payload.length} bytes exceeds the limit of ${this.maxPayloadBytes} bytes`,
        packet,
      });
      return;
    }
    const run = (async () => {
      try {
        await entry.handler(topic, payload, packet);
      } catch (err) {
        this.report(entry, { topic, channelId: entry.channelId, reason: 'handler', message: errorMessage(err), error: err });
      }
    })();
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }

  private report(entry: Entry | undefined, e: InboundError): void {
    try {
      (entry?.onError ?? this.onError)(e);
    } catch {
      // An error reporter that throws must not reach mqtt.js either.
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function defaultOnError(e: InboundError): void {
  console.warn(`[makapix runtime] dropped message on ${e.topic} (${e.reason}): ${e.message}`);
}
