// One simulated player: the device side of the whole protocol, built only on generated code.
// REST: provision, poll for credentials. MQTT (mTLS with the issued certificate): last will,
// subscriptions to its response and command topics before anything else, heartbeats, commands,
// the five request types with the firmware's retry rule. See index.ts for the API summary.
import { EventEmitter } from 'node:events';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  MessageRouter, Requester, RequestTimeoutError, type InboundError, type InboundMessage,
} from '#runtime/v1';
import {
  playerResponse, playerStatus, PlayerStatusValidator, type PlayerCommandMessage, type PlayerCommandParams,
} from '../../../generated/asyncapi/channels.js';
import {
  publishPlayerStatus, requestGetComments, requestQueryPosts, requestRevokeReaction, requestSubmitReaction, requestSubmitView,
  subscribePlayerCommand, type GetCommentsReply, type QueryPostsReply, type RevokeReactionReply, type SubmitReactionReply,
  type SubmitViewReply,
} from '../../../generated/asyncapi/operations.js';
import type {
  GetCommentsRequest, PlayerStatus, QueryPostsRequest, RevokeReactionRequest, SubmitReactionRequest, SubmitViewRequest,
} from '../../../generated/asyncapi/schemas.js';
import type { RequestType } from '../../../generated/asyncapi/catalog.js';
import { limits } from '../../../generated/asyncapi/limits.js';
import type { PostId, ViewIntent } from '../../../generated/components/identifiers.js';
import type { ProvisionPlayerResponse } from '../../../generated/openapi/schemas.js';
import { ArtworkQueue } from './artwork-queue.js';
import { brokerUrlOf, type SimCredentials } from './credentials.js';
import { silentLog, type SimLog } from './log.js';
import { provisionDevice, waitForCredentials, type WaitForCredentialsOptions } from './provisioning.js';
import { newRequestId } from './request-id.js';
import { defaultScheduler, type ScheduledJob, type SharedScheduler } from './scheduler.js';

export const SIM_FIRMWARE_VERSION = 'makapix-player-sim/0.1.0';
export const SIM_DEVICE_MODEL = 'makapix-player-sim';

/** The fields of a request the caller chooses; the envelope (request_type, player_key, request_id) is filled in. */
export type RequestFields<R> = Omit<R, 'request_id' | 'request_type' | 'player_key'> & { request_id?: string };

/** The query the player sends when `queryOnConnect` is true (as the firmware: all posts, 32 a page). */
export const DEFAULT_QUERY: RequestFields<QueryPostsRequest> = { channel: 'all', sort: 'server_order', limit: 32 };

export interface SimPlayerOptions {
  /** Skip provisioning: connect with these. */
  credentials?: SimCredentials;
  /** Reported in provisioning and in every status (default SIM_FIRMWARE_VERSION). */
  firmwareVersion?: string;
  /** Heartbeat period (default 30000). */
  heartbeatMs?: number;
  /** Wait for a response this long before re-publishing the request (default 10000, as the firmware). */
  requestTimeoutMs?: number;
  /** Re-publish a timed-out request with the same request_id this many times (default 3, as the firmware). */
  requestRetries?: number;
  /** After connecting, fetch posts with query_posts (true: DEFAULT_QUERY). Default false. */
  queryOnConnect?: boolean | RequestFields<QueryPostsRequest>;
  /** Send submit_view after each command that changes the shown post (intentional for show_artwork). Default false. */
  submitViews?: boolean;
  /** Timers for heartbeats (default: the process-wide defaultScheduler). */
  scheduler?: SharedScheduler;
  log?: SimLog;
}

export interface SimConnectOptions {
  /** Default: mqtts://host:port from the credentials. */
  brokerUrl?: string;
  /** 5 (default) or 4 (MQTT 3.1.1, as the real firmware). */
  protocolVersion?: 4 | 5;
  /** Default 10000. */
  connectTimeoutMs?: number;
  /** Reconnect this long after losing the connection (default 0: never). */
  reconnectPeriodMs?: number;
  /** Overrides the constructor's heartbeatMs. */
  heartbeatMs?: number;
}

export interface SimRequestOptions {
  /** Per attempt (default: the player's requestTimeoutMs). */
  timeoutMs?: number;
  /** Default: the player's requestRetries. */
  retries?: number;
}

/** The request types, from the spec (generated/asyncapi/catalog.ts). */
export type { RequestType };

export interface SimPlayerEvents {
  /** Connected, subscribed and the first status sent; `reconnect` after an automatic reconnect. */
  connect: [{ reconnect: boolean }];
  /** The MQTT connection closed (any reason). */
  close: [];
  /** A status was published. */
  status: [PlayerStatus];
  /** A valid command arrived (emitted before it is executed). */
  command: [PlayerCommandMessage];
  /** A message on the command topic failed (bad JSON, schema, unknown command_type); it was ignored. */
  'invalid-command': [InboundError];
  /** A request was published (attempt 0, then 1.. for each re-publish). */
  request: [{ request_type: RequestType; request_id: string; attempt: number }];
  /** The correlated response of a request arrived (success or error response). */
  response: [{ request_type: RequestType; request_id: string; reply: { success: boolean } }];
}

type Sender<Req, Res> = (requester: Requester, payload: Req, opts?: { timeoutMs?: number }) => Promise<Res>;

export class SimPlayer extends EventEmitter<SimPlayerEvents> {
  private creds: SimCredentials | undefined;
  private apiUrl: string | undefined;
  private readonly firmwareVersion: string;
  private readonly heartbeatMs: number;
  private readonly requestTimeoutMs: number;
  private readonly requestRetries: number;
  private readonly scheduler: SharedScheduler;
  private readonly log: SimLog;
  private readonly queue = new ArtworkQueue();
  private client: MqttClient | undefined;
  private requester: Requester | undefined;
  private heartbeat: ScheduledJob | undefined;
  private onReconnect: (() => void) | undefined;
  private provisioned: ProvisionPlayerResponse | undefined;

  constructor(private readonly opts: SimPlayerOptions = {}) {
    super();
    this.creds = opts.credentials;
    this.firmwareVersion = opts.firmwareVersion ?? SIM_FIRMWARE_VERSION;
    this.heartbeatMs = opts.heartbeatMs ?? 30_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.requestRetries = opts.requestRetries ?? 3;
    this.scheduler = opts.scheduler ?? defaultScheduler;
    this.log = opts.log ?? silentLog;
  }

  /** The player_key (after provision() or from the given credentials). */
  get playerKey(): string | undefined {
    return this.creds?.player_key ?? this.provisioned?.player_key;
  }

  get credentials(): SimCredentials | undefined {
    return this.creds;
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  /** The post shown now (null before any). */
  get currentPostId(): PostId | null {
    return this.queue.currentPostId;
  }

  /** The post ids the last fetchPosts() returned. */
  get postIds(): PostId[] {
    return this.queue.postIds;
  }

  /** POST /player/provision: the player_key and the registration code to show to the owner. */
  async provision(o: { apiUrl: string; deviceModel?: string; firmwareVersion?: string; signal?: AbortSignal }): Promise<ProvisionPlayerResponse> {
    this.apiUrl = o.apiUrl;
    this.provisioned = await provisionDevice({
      apiUrl: o.apiUrl,
      deviceModel: o.deviceModel ?? SIM_DEVICE_MODEL,
      firmwareVersion: o.firmwareVersion ?? this.firmwareVersion,
      signal: o.signal,
    });
    this.log('info', `${this.tag()} provisioned; registration code ${this.provisioned.registration_code} (expires ${this.provisioned.registration_code_expires_at})`);
    return this.provisioned;
  }

  /** Polls GET /player/{player_key}/credentials (every pollMs, default 3000) until the owner registered the code. */
  async waitForCredentials(o: Partial<Omit<WaitForCredentialsOptions, 'playerKey'>> = {}): Promise<SimCredentials> {
    const apiUrl = o.apiUrl ?? this.apiUrl;
    const playerKey = this.provisioned?.player_key ?? this.creds?.player_key;
    if (!apiUrl || !playerKey) throw new Error('waitForCredentials() needs provision() first (or an apiUrl and credentials with a player_key)');
    this.creds = await waitForCredentials({
      ...o,
      apiUrl,
      playerKey,
      onPending: o.onPending ?? ((status) => this.log('debug', `${this.tag()} credentials not ready (${status})`)),
    });
    this.log('info', `${this.tag()} registered; credentials received (broker ${brokerUrlOf(this.creds)})`);
    return this.creds;
  }

  /**
   * Connects over mTLS with the last will, subscribes to the response and command topics, then
   * sends the first status and starts the heartbeats. Rejects when the broker refuses.
   */
  async connect(o: SimConnectOptions = {}): Promise<void> {
    const creds = this.creds;
    if (!creds) throw new Error('connect() needs credentials (give them, or provision() and waitForCredentials() first)');
    if (this.client) throw new Error(`player ${creds.player_key} is already connected`);
    const key = creds.player_key;
    const will: PlayerStatus = { player_key: key, status: 'offline' };
    if (!PlayerStatusValidator.check(will)) throw new Error(`invalid last will: ${PlayerStatusValidator.explain(will)}`);
    const options: IClientOptions = {
      protocolVersion: o.protocolVersion ?? 5,
      clientId: `p3a-${key}`,
      keepalive: 60,
      clean: true,
      ca: creds.ca_pem,
      cert: creds.cert_pem,
      key: creds.key_pem,
      rejectUnauthorized: true,
      connectTimeout: o.connectTimeoutMs ?? 10_000,
      reconnectPeriod: o.reconnectPeriodMs ?? 0,
      will: {
        topic: playerStatus.topic.format({ player_key: key }),
        payload: Buffer.from(JSON.stringify(will)),
        qos: playerStatus.qos,
        retain: playerStatus.retain,
      },
    };
    const url = o.brokerUrl ?? brokerUrlOf(creds);
    const client = await mqtt.connectAsync(url, options, false);
    this.client = client;
    try {
      const router = new MessageRouter(client, { maxPayloadBytes: limits.maxPayloadBytes, onError: (e) => this.log('warn', `${this.tag()} dropped a message on ${e.topic} (${e.reason}): ${e.message}`) });
      const requester = new Requester(client, router, key, { timeoutMs: this.requestTimeoutMs, responseTopic: playerResponse.topic });
      this.requester = requester;
      // Both subscriptions are granted before the first publish of any kind.
      await requester.start();
      await subscribePlayerCommand(router, (m) => this.onCommand(m), { fixed: { player_key: key }, onError: (e) => this.onInvalidCommand(e) });
      client.on('close', () => this.emit('close'));
      this.onReconnect = () => {
        this.log('info', `${this.tag()} reconnected`);
        this.sendStatus().then(() => this.emit('connect', { reconnect: true }), (err) => this.warn('status after reconnect', err));
      };
      client.on('connect', this.onReconnect);
      await this.sendStatus();
    } catch (err) {
      await this.teardown(false);
      throw err;
    }
    const every = o.heartbeatMs ?? this.heartbeatMs;
    this.heartbeat = this.scheduler.every(every, () => {
      if (this.client?.connected) this.sendStatus().catch((err) => this.warn('heartbeat', err));
    });
    this.log('info', `${this.tag()} connected to ${url} (MQTT ${options.protocolVersion === 4 ? '3.1.1' : '5'}); heartbeat every ${every} ms`);
    this.emit('connect', { reconnect: false });
    if (this.opts.queryOnConnect) {
      const fields = this.opts.queryOnConnect === true ? DEFAULT_QUERY : this.opts.queryOnConnect;
      this.fetchPosts(fields).catch((err) => this.warn('query_posts on connect', err));
    }
  }

  /** Publishes a PlayerStatus (online by default) with the current post, firmware version and time. */
  async sendStatus(status: PlayerStatus['status'] = 'online'): Promise<PlayerStatus> {
    const client = this.requireClient();
    const key = this.creds!.player_key;
    const payload: PlayerStatus = {
      player_key: key,
      status,
      current_post_id: this.queue.currentPostId,
      firmware_version: this.firmwareVersion,
      timestamp: new Date().toISOString(),
    };
    await publishPlayerStatus(client, { player_key: key }, payload);
    this.log('debug', `${this.tag()} status ${status} current_post_id=${payload.current_post_id}`);
    this.emit('status', payload);
    return payload;
  }

  /**
   * graceful (default): an offline status, then DISCONNECT (the broker drops the will).
   * Not graceful: the socket is destroyed without DISCONNECT, so the broker publishes the will.
   */
  async disconnect(o: { graceful?: boolean } = {}): Promise<void> {
    const graceful = o.graceful ?? true;
    if (!this.client) return;
    if (graceful && this.client.connected) {
      await this.sendStatus('offline').catch((err) => this.warn('offline status', err));
    }
    await this.teardown(graceful);
    this.log('info', `${this.tag()} disconnected (${graceful ? 'graceful' : 'socket dropped'})`);
  }

  // ---- requests ----

  /** query_posts; a success replaces the list swap_next/swap_back move in. */
  fetchPosts(fields: RequestFields<QueryPostsRequest> = {}, o: SimRequestOptions = {}): Promise<QueryPostsReply> {
    // The list is replaced before the 'response' event, so listeners see the new one.
    return this.send('query_posts', requestQueryPosts, this.envelope('query_posts', fields), o, (reply) => {
      if (reply.success) this.queue.replace(reply.posts.map((p) => p.post_id));
    });
  }

  requestQueryPosts(fields: RequestFields<QueryPostsRequest> = {}, o: SimRequestOptions = {}): Promise<QueryPostsReply> {
    return this.send('query_posts', requestQueryPosts, this.envelope('query_posts', fields), o);
  }

  requestSubmitView(fields: RequestFields<SubmitViewRequest>, o: SimRequestOptions = {}): Promise<SubmitViewReply> {
    return this.send('submit_view', requestSubmitView, this.envelope('submit_view', fields), o);
  }

  requestSubmitReaction(fields: RequestFields<SubmitReactionRequest>, o: SimRequestOptions = {}): Promise<SubmitReactionReply> {
    return this.send('submit_reaction', requestSubmitReaction, this.envelope('submit_reaction', fields), o);
  }

  requestRevokeReaction(fields: RequestFields<RevokeReactionRequest>, o: SimRequestOptions = {}): Promise<RevokeReactionReply> {
    return this.send('revoke_reaction', requestRevokeReaction, this.envelope('revoke_reaction', fields), o);
  }

  requestGetComments(fields: RequestFields<GetCommentsRequest>, o: SimRequestOptions = {}): Promise<GetCommentsReply> {
    return this.send('get_comments', requestGetComments, this.envelope('get_comments', fields), o);
  }

  /** Publishes, waits timeoutMs, re-publishes with the same request_id up to `retries` times. */
  private async send<Req extends { request_id: string }, Res extends { success: boolean }>(
    type: RequestType,
    sender: Sender<Req, Res>,
    payload: Req,
    o: SimRequestOptions,
    apply?: (reply: Res) => void,
  ): Promise<Res> {
    const retries = o.retries ?? this.requestRetries;
    const timeoutMs = o.timeoutMs ?? this.requestTimeoutMs;
    const requestId = payload.request_id;
    for (let attempt = 0; ; attempt++) {
      const requester = this.requester;
      if (!requester) throw new Error(`player ${this.playerKey} is not connected`);
      this.emit('request', { request_type: type, request_id: requestId, attempt });
      this.log('debug', `${this.tag()} ${type} ${requestId}${attempt > 0 ? ` (retry ${attempt})` : ''}`);
      try {
        const reply = await sender(requester, payload, { timeoutMs });
        this.log('debug', `${this.tag()} ${type} ${requestId} answered (success ${reply.success})`);
        apply?.(reply);
        this.emit('response', { request_type: type, request_id: requestId, reply });
        return reply;
      } catch (err) {
        if (!(err instanceof RequestTimeoutError) || attempt >= retries) throw err;
        this.log('info', `${this.tag()} ${type} ${requestId}: no response within ${timeoutMs} ms; re-publishing`);
      }
    }
  }

  /** The fields plus the envelope: a fresh 32-hex request_id unless given, the type, this player's key. */
  private envelope<T extends RequestType, F extends { request_id?: string }>(type: T, fields: F): F & { request_id: string; request_type: T; player_key: string } {
    return { ...fields, request_id: fields.request_id ?? newRequestId(), request_type: type, player_key: this.key() };
  }

  // ---- commands ----

  private async onCommand(m: InboundMessage<PlayerCommandParams, PlayerCommandMessage>): Promise<void> {
    const cmd = m.payload;
    this.log('info', `${this.tag()} command ${cmd.command_type} ${cmd.command_id}`);
    this.emit('command', cmd);
    let viewIntent: ViewIntent | undefined;
    switch (cmd.command_type) {
      case 'show_artwork':
        this.queue.show(cmd.payload.post_id);
        viewIntent = 'intentional';
        break;
      case 'swap_next':
      case 'swap_back': {
        const moved = cmd.command_type === 'swap_next' ? this.queue.next() : this.queue.back();
        if (moved) viewIntent = 'automated';
        else this.log('info', `${this.tag()} ${cmd.command_type}: no posts fetched yet; nothing to move to`);
        break;
      }
    }
    await this.sendStatus();
    const postId = this.queue.currentPostId;
    if (this.opts.submitViews && viewIntent && postId !== null) {
      this.requestSubmitView({ post_id: postId, view_intent: viewIntent }).catch((err) => this.warn('submit_view', err));
    }
  }

  private onInvalidCommand(e: InboundError): void {
    if (e.reason === 'handler') {
      this.log('error', `${this.tag()} executing a command failed: ${e.message}`);
      return;
    }
    this.log('warn', `${this.tag()} ignored an invalid command (${e.reason}): ${e.message}`);
    this.emit('invalid-command', e);
  }

  // ---- plumbing ----

  private async teardown(graceful: boolean): Promise<void> {
    this.heartbeat?.cancel();
    this.heartbeat = undefined;
    const client = this.client;
    const requester = this.requester;
    this.client = undefined;
    this.requester = undefined;
    if (!client) return;
    if (this.onReconnect) client.removeListener('connect', this.onReconnect);
    this.onReconnect = undefined;
    if (graceful) {
      // Rejects the requests still waiting and unsubscribes, then DISCONNECT.
      await requester?.close().catch(() => undefined);
      await client.endAsync();
    } else {
      client.stream?.destroy();
      await client.endAsync(true);
      await requester?.close().catch(() => undefined);
    }
  }

  private requireClient(): MqttClient {
    if (!this.client) throw new Error(`player ${this.playerKey ?? '(no key)'} is not connected`);
    return this.client;
  }

  private key(): string {
    const key = this.creds?.player_key;
    if (!key) throw new Error('the player has no credentials yet');
    return key;
  }

  private tag(): string {
    return `[player ${this.playerKey?.slice(0, 8) ?? '?'}]`;
  }

  private warn(what: string, err: unknown): void {
    this.log('warn', `${this.tag()} ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
