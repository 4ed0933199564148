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
  playerResponse, playerStatus, PlayerStatusValidator, type PlayerCommandMessage, type PlayerCommandParams, type PlayerViewAckMessage,
} from '@makapix/contract/asyncapi/channels';
import {
  publishPlayerCapabilities, publishPlayerCommandAck, publishPlayerState, publishPlayerStatus, publishPlayerView,
  requestGetComments, requestGetPost, requestQueryPosts, requestRevokeReaction, requestSubmitReaction, requestSubmitView,
  subscribePlayerCommand, subscribePlayerViewAck, type GetCommentsReply, type GetPostReply, type QueryPostsReply,
  type RevokeReactionReply, type SubmitReactionReply, type SubmitViewReply,
} from '@makapix/contract/asyncapi/operations';
import type {
  CommandAck, ErrorResponse, GetCommentsRequest, GetPostRequest, PlayerCapabilities, PlayerState, PlayerStatus, PlayerView, PostSummary,
  QueryPostsRequest, RevokeReactionRequest, SubmitReactionRequest, SubmitViewRequest,
} from '@makapix/contract/asyncapi/schemas';
import type { RequestType } from '@makapix/contract/asyncapi/catalog';
import { limits } from '@makapix/contract/asyncapi/limits';
import type { PostId, ViewIntent } from '@makapix/contract/components/identifiers';
import { createClient } from '@makapix/contract/openapi/client';
import type { ProvisionPlayerResponse, RenewDeviceCertResponse } from '@makapix/contract/openapi/schemas';
import {
  firmwareArtworkUrl, firmwareShard, P3A_DEVICE_MODEL, P3A_FIRMWARE_VERSION, P3A_MAX_INBOUND_BYTES, P3A_TIMINGS, p3aCapabilities, p3aInitialState, p3aTimestamp,
  type SimProfile,
} from './p3a.js';
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

/** query_posts channels (from the spec). */
export type QueryPostsChannel = NonNullable<QueryPostsRequest['channel']>;

export interface WalkOptions {
  user_sqid?: string;
  hashtag?: string;
  /** Pause between pages (default: the player's walkPageDelayMs; p3a 350). */
  pageDelayMs?: number;
  /** Stop after this many posts (default: the player's walkMaxPosts; p3a 2048). */
  maxPosts?: number;
  /** Page size (default 32, as p3a). */
  pageSize?: number;
  /** Show the first post afterwards and report views of it with intent `channel` (as play_channel does). */
  play?: boolean;
}

export interface WalkResult {
  channel: QueryPostsChannel;
  posts: PostSummary[];
  pages: number;
  /** True when the server said there was no more (or maxPosts was reached); false when aborted. */
  complete: boolean;
  /** The error answer (or failure) that aborted the walk. */
  error?: ErrorResponse | { error: string; error_code?: undefined };
}

/** What the simulator did with a show_artwork it accepted (p3a profile). */
export interface ShownArtwork {
  post_id: PostId;
  storage_key: string;
  storage_shard: string;
  native_format: string;
  /** Set when the player has a vaultUrl: where it downloaded from, the HTTP status and the bytes. */
  url?: string;
  httpStatus?: number;
  bytes?: Buffer;
}

export type RenewOutcome =
  | { outcome: 'renewed'; cert_expires_at: string; rotatedToken: boolean; reconnected: boolean }
  | { outcome: 'not_due' | 'later' | 'failed'; status: number; body: unknown; rotatedToken: boolean };

export interface SimPlayerOptions {
  /**
   * 'p3a': the real firmware's rules (FIRMWARE_P3A.md): MQTT 3.1, subscriptions command,
   * response/#, view/ack; retained capabilities and state; 3 attempts 1 s then 2 s apart; views;
   * acknowledged set_* commands; show_artwork ignored without storage_shard/native_format; REST under /api.
   */
  profile?: SimProfile;
  /** REST base URL (without /api; the p3a profile adds it). Also set by provision(). */
  apiUrl?: string;
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
  /** Pause before each re-publish (index 0: before the 2nd attempt); default none, p3a [1000, 2000]. */
  retryDelaysMs?: readonly number[];
  /** Channel walks: pause between pages (p3a 350), most posts (2048). */
  walkPageDelayMs?: number;
  walkMaxPosts?: number;
  /** Views on `…/view` (p3a: on by default): first after viewFirstMs (5000) of display, then every viewEveryMs (30000). */
  views?: boolean;
  viewFirstMs?: number;
  viewEveryMs?: number;
  /** Views ask for an answer on `…/view/ack` (default false, as p3a). */
  viewRequestAck?: boolean;
  /** Vault base URL: when set, an accepted show_artwork is downloaded from `{vaultUrl}/{shard}/{storage_key}.{ext}`. */
  vaultUrl?: string;
  /** Credentials poll period (default 3000). */
  credentialsPollMs?: number;
  /** Timers for heartbeats (default: the process-wide defaultScheduler). */
  scheduler?: SharedScheduler;
  log?: SimLog;
}

export interface SimConnectOptions {
  /** Default: mqtts://host:port from the credentials. */
  brokerUrl?: string;
  /** 5 (default) or 4 (MQTT 3.1.1). The p3a profile always speaks 3.1 (MQIsdp, level 3). */
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
  /** p3a: a valid command the firmware ignores (show_artwork without storage_shard/native_format). */
  'ignored-command': [{ command: PlayerCommandMessage; reason: string }];
  /** p3a: capabilities / state published (retained). */
  capabilities: [PlayerCapabilities];
  state: [PlayerState];
  /** p3a: a command acknowledged on `…/command/ack`. */
  'command-ack': [CommandAck];
  /** p3a: an accepted show_artwork (downloaded when vaultUrl is set). */
  artwork: [ShownArtwork];
  /** p3a: a view published on `…/view`, and an answer read on `…/view/ack`. */
  view: [PlayerView];
  'view-ack': [PlayerViewAckMessage];
  /** A channel walk ended (complete or aborted). */
  walk: [WalkResult];
  /** The certificate was renewed (and the player reconnected with it when it was connected). */
  renewed: [RenewDeviceCertResponse];
}

interface Playing {
  intent: 'channel' | 'artwork';
  channel: string;
  user_sqid: string | null;
  hashtag: string | null;
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
  readonly profile: SimProfile;
  private readonly retryDelaysMs: readonly number[];
  private lastConnect: SimConnectOptions = {};
  private capabilities: PlayerCapabilities | undefined;
  private state: PlayerState | undefined;
  private playing: Playing = { intent: 'channel', channel: 'all', user_sqid: null, hashtag: null };
  private viewTimer: NodeJS.Timeout | undefined;
  private walkGeneration = 0;

  constructor(private readonly opts: SimPlayerOptions = {}) {
    super();
    this.profile = opts.profile ?? 'default';
    const p3a = this.profile === 'p3a';
    this.creds = opts.credentials;
    this.apiUrl = opts.apiUrl;
    this.firmwareVersion = opts.firmwareVersion ?? (p3a ? P3A_FIRMWARE_VERSION : SIM_FIRMWARE_VERSION);
    this.heartbeatMs = opts.heartbeatMs ?? 30_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.requestRetries = opts.requestRetries ?? (p3a ? P3A_TIMINGS.requestAttempts - 1 : 3);
    this.retryDelaysMs = opts.retryDelaysMs ?? (p3a ? P3A_TIMINGS.retryDelaysMs : []);
    this.scheduler = opts.scheduler ?? defaultScheduler;
    this.log = opts.log ?? silentLog;
    if (p3a) {
      this.capabilities = p3aCapabilities();
      this.state = p3aInitialState();
    }
  }

  /** The REST base the player calls: the API URL, plus `/api` for p3a. */
  private restBase(apiUrl: string): string {
    const base = apiUrl.replace(/\/+$/, '');
    return this.profile === 'p3a' ? `${base}/api` : base;
  }

  /** The display state (p3a profile; undefined otherwise). */
  get displayState(): PlayerState | undefined {
    return this.state ? { ...this.state } : undefined;
  }

  /** The player_key (after provision() or from the given credentials). */
  get playerKey(): string | undefined {
    return this.creds?.player_key ?? this.provisioned?.player_key;
  }

  get credentials(): SimCredentials | undefined {
    return this.creds;
  }

  /** The player's MQTT connection while connected (e.g. to watch every message it gets, duplicates included). */
  get mqttClient(): MqttClient | undefined {
    return this.client;
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
      apiUrl: this.restBase(o.apiUrl),
      deviceModel: o.deviceModel ?? (this.profile === 'p3a' ? P3A_DEVICE_MODEL : SIM_DEVICE_MODEL),
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
    this.apiUrl = apiUrl;
    this.creds = await waitForCredentials({
      pollMs: this.opts.credentialsPollMs,
      ...o,
      apiUrl: this.restBase(apiUrl),
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
    this.lastConnect = o;
    const key = creds.player_key;
    const p3a = this.profile === 'p3a';
    const will: PlayerStatus = { player_key: key, status: 'offline' };
    if (!PlayerStatusValidator.check(will)) throw new Error(`invalid last will: ${PlayerStatusValidator.explain(will)}`);
    const options: IClientOptions = {
      // p3a: MQTT 3.1 (esp-mqtt's default), username = player_key, no password
      ...(p3a ? { protocolId: 'MQIsdp' as const, protocolVersion: 3 as const, username: key } : { protocolVersion: o.protocolVersion ?? 5 }),
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
      const router = new MessageRouter(client, { maxPayloadBytes: p3a ? P3A_MAX_INBOUND_BYTES : limits.maxPayloadBytes, onError: (e) => this.log('warn', `${this.tag()} dropped a message on ${e.topic} (${e.reason}): ${e.message}`) });
      const requester = new Requester(client, router, key, { timeoutMs: this.requestTimeoutMs, responseTopic: playerResponse.topic });
      this.requester = requester;
      // Every subscription is granted before the first publish of any kind.
      const onCommand = (m: InboundMessage<PlayerCommandParams, PlayerCommandMessage>) => this.onCommand(m);
      if (p3a) {
        // p3a's order: command, response/#, view/ack (requests start after the response/# SUBACK)
        await subscribePlayerCommand(router, onCommand, { fixed: { player_key: key }, onError: (e) => this.onInvalidCommand(e) });
        await requester.start();
        await subscribePlayerViewAck(router, (m) => { this.emit('view-ack', m.payload); }, {
          fixed: { player_key: key },
          onError: (e) => this.log('warn', `${this.tag()} dropped a view/ack (${e.reason}): ${e.message}`),
        });
      } else {
        await requester.start();
        await subscribePlayerCommand(router, onCommand, { fixed: { player_key: key }, onError: (e) => this.onInvalidCommand(e) });
      }
      client.on('close', () => this.emit('close'));
      this.onReconnect = () => {
        this.log('info', `${this.tag()} reconnected`);
        this.announce().then(() => this.emit('connect', { reconnect: true }), (err) => this.warn('status after reconnect', err));
      };
      client.on('connect', this.onReconnect);
      await this.announce();
    } catch (err) {
      await this.teardown(false);
      throw err;
    }
    const every = o.heartbeatMs ?? this.heartbeatMs;
    this.heartbeat = this.scheduler.every(every, () => {
      if (this.client?.connected) this.sendStatus().catch((err) => this.warn('heartbeat', err));
    });
    this.log('info', `${this.tag()} connected to ${url} (MQTT ${options.protocolVersion === 3 ? '3.1' : options.protocolVersion === 4 ? '3.1.1' : '5'}); heartbeat every ${every} ms`);
    this.emit('connect', { reconnect: false });
    if (this.opts.queryOnConnect) {
      const fields = this.opts.queryOnConnect === true ? DEFAULT_QUERY : this.opts.queryOnConnect;
      if (p3a) {
        // p3a walks (and plays) its channel rather than fetching one page
        this.walkChannel(fields.channel ?? 'all', { user_sqid: fields.user_sqid, hashtag: fields.hashtag, play: true }).catch((err) => this.warn('channel walk on connect', err));
      } else {
        this.fetchPosts(fields).catch((err) => this.warn('query_posts on connect', err));
      }
    }
  }

  /** After (re)connecting: p3a publishes retained capabilities and state, then status; others only status. */
  private async announce(): Promise<void> {
    if (this.profile === 'p3a') {
      await this.publishCapabilities();
      await this.publishState();
    }
    await this.sendStatus();
  }

  private async publishCapabilities(): Promise<void> {
    const caps = this.capabilities!;
    await publishPlayerCapabilities(this.requireClient(), { player_key: this.key() }, caps);
    this.emit('capabilities', caps);
  }

  /** p3a: publishes the display state, retained. */
  async publishState(): Promise<PlayerState> {
    const state = { ...this.state! };
    await publishPlayerState(this.requireClient(), { player_key: this.key() }, state);
    this.emit('state', state);
    return state;
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
      timestamp: this.profile === 'p3a' ? p3aTimestamp() : new Date().toISOString(),
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

  requestGetPost(fields: RequestFields<GetPostRequest>, o: SimRequestOptions = {}): Promise<GetPostReply> {
    return this.send('get_post', requestGetPost, this.envelope('get_post', fields), o);
  }

  /**
   * Walks a channel as p3a: query_posts pages (32, sort server_order, cursor null first), a pause
   * between pages, up to maxPosts; any error answer (or a request that fails after its retries)
   * aborts the walk. The posts walked replace the list swap_next/swap_back move in.
   */
  async walkChannel(channel: QueryPostsChannel, o: WalkOptions = {}): Promise<WalkResult> {
    const generation = ++this.walkGeneration;
    const pageDelayMs = o.pageDelayMs ?? this.opts.walkPageDelayMs ?? P3A_TIMINGS.walkPageDelayMs;
    const maxPosts = o.maxPosts ?? this.opts.walkMaxPosts ?? P3A_TIMINGS.walkMaxPosts;
    const limit = Math.min(o.pageSize ?? P3A_TIMINGS.walkPageSize, 48);
    const result: WalkResult = { channel, posts: [], pages: 0, complete: false };
    let cursor: string | null = null;
    for (;;) {
      if (result.pages > 0) await new Promise((r) => setTimeout(r, pageDelayMs));
      if (generation !== this.walkGeneration) {
        result.error = { error: 'superseded by another walk' };
        break;
      }
      const fields: RequestFields<QueryPostsRequest> = { channel };
      if (o.user_sqid !== undefined) fields.user_sqid = o.user_sqid;
      if (o.hashtag !== undefined) fields.hashtag = o.hashtag;
      fields.sort = 'server_order';
      fields.cursor = cursor;
      fields.limit = limit;
      let reply: QueryPostsReply;
      try {
        reply = await this.requestQueryPosts(fields);
      } catch (err) {
        result.error = { error: err instanceof Error ? err.message : String(err) };
        break;
      }
      result.pages++;
      if (!reply.success) {
        result.error = reply;
        break;
      }
      result.posts.push(...reply.posts.slice(0, maxPosts - result.posts.length));
      if (!reply.has_more || reply.next_cursor === null || result.posts.length >= maxPosts) {
        result.complete = true;
        break;
      }
      cursor = reply.next_cursor;
    }
    this.log('info', `${this.tag()} walk ${channel}: ${result.posts.length} posts in ${result.pages} pages${result.error ? ` (aborted: ${result.error.error})` : ''}`);
    if (result.complete || result.posts.length > 0) this.queue.replace(result.posts.map((p) => p.post_id));
    if (o.play && result.posts.length > 0 && this.client) {
      this.playing = { intent: 'channel', channel, user_sqid: o.user_sqid ?? null, hashtag: o.hashtag ?? null };
      this.queue.show(result.posts[0]!.post_id);
      await this.sendStatus().catch((err) => this.warn('status', err));
      this.startViews();
    }
    this.emit('walk', result);
    return result;
  }

  /** Publishes a PlayerView of the current post (p3a's payload; intent artwork after show_artwork, else channel). */
  async sendView(o: { request_ack?: boolean } = {}): Promise<PlayerView> {
    const postId = this.queue.currentPostId;
    if (postId === null) throw new Error('no post is showing');
    const pl = this.playing;
    const view: PlayerView = {
      post_id: postId,
      timestamp: p3aTimestamp(),
      timezone: '',
      intent: pl.intent,
      play_order: 1,
      channel: pl.channel,
      player_key: this.key(),
      channel_user_sqid: pl.user_sqid,
      channel_hashtag: pl.hashtag,
      request_ack: o.request_ack ?? this.opts.viewRequestAck ?? false,
    };
    await publishPlayerView(this.requireClient(), { player_key: view.player_key }, view);
    this.log('debug', `${this.tag()} view ${postId} (${pl.intent})`);
    this.emit('view', view);
    return view;
  }

  private startViews(): void {
    this.stopViews();
    if (!(this.opts.views ?? this.profile === 'p3a')) return;
    const first = this.opts.viewFirstMs ?? P3A_TIMINGS.viewFirstMs;
    const every = this.opts.viewEveryMs ?? P3A_TIMINGS.viewEveryMs;
    const fire = () => {
      if (this.client?.connected && this.queue.currentPostId !== null) this.sendView().catch((err) => this.warn('view', err));
    };
    this.viewTimer = setTimeout(() => {
      fire();
      this.viewTimer = setInterval(fire, every);
    }, first);
  }

  private stopViews(): void {
    if (this.viewTimer) clearTimeout(this.viewTimer);
    this.viewTimer = undefined;
  }

  // ---- certificate renewal (p3a: REST under /api with the device token) ----

  /**
   * POST /player/renew-cert with the device token: 200 → the new certificate (reconnects with it
   * when connected); 400 → not due; 401/403 → token/rotate, then one retry; 429 → later.
   */
  async renewCertificate(o: { reconnect?: boolean } = {}): Promise<RenewOutcome> {
    const creds = this.creds;
    if (!creds || !this.apiUrl) throw new Error('renewCertificate() needs credentials and an apiUrl');
    if (!creds.api_token) throw new Error('no device token (api_token) in the credentials');
    const api = createClient(this.restBase(this.apiUrl));
    let rotatedToken = false;
    for (let attempt = 0; ; attempt++) {
      const r = await api.renewDeviceCert({}, { token: this.creds!.api_token! });
      if (r.status === 200) {
        const body = r.body;
        this.creds = { ...this.creds!, cert_pem: body.cert_pem, ca_pem: body.ca_pem, ...(body.key_pem ? { key_pem: body.key_pem } : {}) };
        this.log('info', `${this.tag()} certificate renewed; expires ${body.cert_expires_at}`);
        let reconnected = false;
        if ((o.reconnect ?? true) && this.client) {
          await this.teardown(true);
          await this.connect(this.lastConnect);
          reconnected = true;
        }
        this.emit('renewed', body);
        return { outcome: 'renewed', cert_expires_at: body.cert_expires_at, rotatedToken, reconnected };
      }
      if ((r.status === 401 || (r.status as number) === 403) && attempt === 0) {
        const rot = await api.rotatePlayerToken({ params: { player_key: creds.player_key } });
        if (rot.status !== 200) return { outcome: 'failed', status: rot.status, body: rot.body, rotatedToken };
        this.creds = { ...this.creds!, api_token: rot.body.api_token };
        rotatedToken = true;
        this.log('info', `${this.tag()} device token rotated; retrying the renewal`);
        continue;
      }
      const outcome = r.status === 400 ? 'not_due' : r.status === 429 ? 'later' : 'failed';
      this.log('info', `${this.tag()} renewal: ${outcome} (HTTP ${r.status})`);
      return { outcome, status: r.status, body: r.body, rotatedToken };
    }
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
        const pause = this.retryDelaysMs[Math.min(attempt, this.retryDelaysMs.length - 1)];
        if (pause) await new Promise((r) => setTimeout(r, pause));
      }
    }
  }

  /** The fields plus the envelope: a fresh 32-hex request_id unless given, the type, this player's key. */
  private envelope<T extends RequestType, F extends { request_id?: string }>(type: T, fields: F): F & { request_id: string; request_type: T; player_key: string } {
    const { request_id, ...rest } = fields;
    // p3a's field order: request_type, the fields as built, then request_id and player_key last
    return { request_type: type, ...rest, request_id: request_id ?? newRequestId(), player_key: this.key() } as F & { request_id: string; request_type: T; player_key: string };
  }

  // ---- commands ----

  private async onCommand(m: InboundMessage<PlayerCommandParams, PlayerCommandMessage>): Promise<void> {
    const cmd = m.payload;
    this.log('info', `${this.tag()} command ${cmd.command_type} ${cmd.command_id}`);
    this.emit('command', cmd);
    if (this.profile === 'p3a') return this.onP3aCommand(cmd);
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

  /** The firmware's command rules. */
  private async onP3aCommand(cmd: PlayerCommandMessage): Promise<void> {
    switch (cmd.command_type) {
      case 'show_artwork': {
        const p = cmd.payload;
        if (typeof p.storage_shard !== 'string' || typeof p.native_format !== 'string') {
          const reason = 'show_artwork without storage_shard/native_format: ignored, as the firmware does';
          this.log('info', `${this.tag()} ${reason}`);
          this.emit('ignored-command', { command: cmd, reason });
          return;
        }
        this.walkGeneration++;
        this.playing = { ...this.playing, intent: 'artwork' };
        this.queue.show(p.post_id);
        const shown: ShownArtwork = { post_id: p.post_id, storage_key: p.storage_key, storage_shard: p.storage_shard, native_format: p.native_format };
        if (this.opts.vaultUrl) {
          // the firmware never downloads art_url: it builds the URL from the shard and the format
          shown.url = firmwareArtworkUrl(this.opts.vaultUrl, p.storage_key, p.storage_shard, p.native_format);
          try {
            const res = await fetch(shown.url);
            shown.httpStatus = res.status;
            if (res.ok) shown.bytes = Buffer.from(await res.arrayBuffer());
          } catch (err) {
            this.warn(`download ${shown.url}`, err);
          }
          if (p.storage_shard !== firmwareShard(p.storage_key)) this.log('warn', `${this.tag()} storage_shard ${p.storage_shard} is not the firmware's ${firmwareShard(p.storage_key)}`);
        }
        await this.sendStatus();
        this.startViews();
        this.emit('artwork', shown);
        return;
      }
      case 'swap_next':
      case 'swap_back': {
        const moved = cmd.command_type === 'swap_next' ? this.queue.next() : this.queue.back();
        if (!moved) return;
        this.playing = { ...this.playing, intent: 'channel' };
        await this.sendStatus();
        this.startViews();
        return;
      }
      case 'play_channel': {
        const p = cmd.payload;
        this.walkChannel(p.channel_name, { user_sqid: p.user_sqid, hashtag: p.hashtag, play: true }).catch((err) => this.warn('play_channel', err));
        return;
      }
      case 'set_paused':
      case 'set_brightness':
      case 'set_rotation': {
        const ack = this.applySetting(cmd);
        if (ack.status === 'ok') await this.publishState();
        await publishPlayerCommandAck(this.requireClient(), { player_key: this.key() }, ack);
        this.emit('command-ack', ack);
        return;
      }
    }
  }

  /** Applies a set_* command within the advertised capabilities; the acknowledgement to send. */
  private applySetting(cmd: Extract<PlayerCommandMessage, { command_type: 'set_paused' | 'set_brightness' | 'set_rotation' }>): CommandAck {
    const features = this.capabilities?.features ?? {};
    const state = this.state!;
    const ack = (status: CommandAck['status'], error: string | null = null): CommandAck => ({ command_id: cmd.command_id, status, error });
    switch (cmd.command_type) {
      case 'set_paused':
        if (!features.pause) return ack('unsupported', 'pause is not supported');
        state.is_paused = cmd.payload.paused;
        return ack('ok');
      case 'set_brightness': {
        const b = features.brightness;
        if (!b) return ack('unsupported', 'brightness is not supported');
        const v = cmd.payload.value;
        if (v < b.min || v > b.max) return ack('error', `brightness ${v} outside ${b.min}..${b.max}`);
        state.brightness = v;
        return ack('ok');
      }
      case 'set_rotation': {
        const r = features.rotation;
        if (!r) return ack('unsupported', 'rotation is not supported');
        const v = cmd.payload.value;
        if (!r.values.includes(v)) return ack('error', `rotation ${v} not one of ${r.values.join(', ')}`);
        state.rotation = v;
        return ack('ok');
      }
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
    this.stopViews();
    this.walkGeneration++;
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
