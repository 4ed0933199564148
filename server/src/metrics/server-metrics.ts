// The server's Prometheus metrics (prom-client): one registry per server instance (several run in
// one process in tests), merged at scrape time with Node's default process metrics, which are kept
// once per process. Updates on the request path are a counter increment and a histogram
// observation with labels from closed lists (labels.ts); the gauges that need a look (players
// online, outbox depth, busy pool connections, broker connections) are read when scraped.
// With METRICS_PORT=0 the server gets `disabledMetrics`: every update is a no-op.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  DROP_REASONS, NOTIFICATION_CHANNELS, REQUEST_TYPES, dropReasonLabel, methodLabel, outcomeLabel, playerReportOutcomeLabel, requestTypeLabel,
  type DropReason, type NotificationChannel, type PlayerReportKind,
} from './labels.js';

/** The database's view, read once per scrape (db/gauges.ts). */
export interface DatabaseGauges {
  /** Registered players online (the whole deployment, as the database has it). */
  playersOnline: number;
  /** Outbox rows not yet published (the whole deployment). */
  outboxPending: number;
  /** This instance's pool connections PostgreSQL sees busy (in a query or a transaction). */
  poolInUse: number;
}

/** The server's broker connections: its own (internal listener) and the dynamic-security admin's (WebSocket, opened on use). */
export type BrokerConnection = 'internal' | 'dynsec_admin';

export interface GaugeSources {
  database?(): Promise<DatabaseGauges>;
  brokers?(): Partial<Record<BrokerConnection, boolean>>;
}

export type StatusUpdateResult = 'applied' | 'ignored' | 'failed';
export type NotificationFailure = 'retry' | 'parked';

export interface Metrics {
  readonly enabled: boolean;
  /** An MQTT answer decided (before its publish): `success` or the error code. */
  mqttRequestAnswered(requestType: string | undefined, outcome: string): void;
  /** An MQTT answer published (QoS 1: acknowledged), `seconds` after its request arrived. */
  mqttRequestPublished(requestType: string | undefined, seconds: number): void;
  /** A stored answer sent again (a repeated request_id). */
  mqttRequestReplayed(requestType: string): void;
  mqttDropped(reason: DropReason): void;
  /** A player status accepted (payload key = topic key). */
  statusReceived(): void;
  statusUpdates(result: StatusUpdateResult, count: number): void;
  notificationsPublished(channel: NotificationChannel, count: number): void;
  notificationFailures(kind: NotificationFailure, count: number): void;
  fanoutRows(count: number): void;
  fanoutFailed(): void;
  playersMarkedOffline(count: number): void;
  /** A player's report on its own topics (view, capabilities, state, command ack) and what became of it. */
  playerReport(kind: PlayerReportKind, outcome: string, count?: number): void;
  /** A REST request answered; `route` from labels.routeLabel. */
  httpRequest(route: string, method: string, status: number, seconds: number): void;
  /** Where the scrape-time gauges come from (set once the database and broker are there). */
  setGaugeSources(sources: GaugeSources): void;
  readonly contentType: string;
  /** The exposition text (reads the scrape-time gauges first). */
  exposition(): Promise<string>;
  /** The sum of a counter's (or a histogram's `_count`/`_sum`) samples whose labels include `labels` (tests, benchmarks). */
  value(name: string, labels?: Record<string, string>): Promise<number>;
}

/** Seconds: 1 ms .. 10 s. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** A database look at scrape time that takes longer counts as unknown (NaN). */
const GAUGE_QUERY_TIMEOUT_MS = 2_000;

let processRegistry: Registry | null = null;
/** Node's default metrics (process_*, nodejs_*), collected once per process. */
function processMetrics(): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export interface PromMetricsOptions {
  /** The pool's size (DATABASE_POOL_MAX), reported as makapix_db_pool_max. */
  dbPoolMax: number;
  /** A scrape-time gauge that could not be read (its value is NaN in that scrape). */
  onGaugeError?: (err: unknown) => void;
}

export class PromMetrics implements Metrics {
  readonly enabled = true;
  /** This server's metrics and the process's. */
  readonly registry: Registry;
  private readonly own = new Registry();
  private sources: GaugeSources = {};

  private readonly mqttRequests = new Counter({
    name: 'makapix_mqtt_requests_total',
    help: 'MQTT requests answered, by request type (unknown before it is known) and outcome (success or the error code).',
    labelNames: ['request_type', 'outcome'] as const,
    registers: [this.own],
  });
  private readonly mqttDuration = new Histogram({
    name: 'makapix_mqtt_request_duration_seconds',
    help: 'From the arrival of an MQTT request to the broker\'s acknowledgement (PUBACK) of its answer.',
    labelNames: ['request_type'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.own],
  });
  private readonly mqttReplayed = new Counter({
    name: 'makapix_mqtt_requests_replayed_total',
    help: 'MQTT requests answered with their stored answer (a repeated request_id).',
    labelNames: ['request_type'] as const,
    registers: [this.own],
  });
  private readonly mqttDroppedCounter = new Counter({
    name: 'makapix_mqtt_dropped_total',
    help: 'Inbound MQTT messages not handled (topic, json, schema, too_large, handler, key_mismatch) and answers that could not be published (publish_failed).',
    labelNames: ['reason'] as const,
    registers: [this.own],
  });
  private readonly statusMessages = new Counter({
    name: 'makapix_status_messages_total',
    help: 'Player status messages accepted (payload key = topic key).',
    registers: [this.own],
  });
  private readonly statusUpdatesCounter = new Counter({
    name: 'makapix_status_updates_total',
    help: 'Player status updates written: applied (a registered player), ignored (unknown or unregistered player), failed (the write failed).',
    labelNames: ['result'] as const,
    registers: [this.own],
  });
  private readonly notifications = new Counter({
    name: 'makapix_notifications_published_total',
    help: 'Notifications published from the outbox, by AsyncAPI channel.',
    labelNames: ['channel'] as const,
    registers: [this.own],
  });
  private readonly notificationFailuresCounter = new Counter({
    name: 'makapix_notification_failures_total',
    help: 'Outbox rows not published: retry (publish failed, retried later), parked (no channel accepts the row).',
    labelNames: ['kind'] as const,
    registers: [this.own],
  });
  private readonly fanoutRowsCounter = new Counter({
    name: 'makapix_fanout_rows_total',
    help: 'Followers a new post\'s fan-out is done with: messages published (all of a chunk acknowledged) straight from the job (the name is from when they were outbox rows).',
    registers: [this.own],
  });
  private readonly fanoutFailures = new Counter({
    name: 'makapix_fanout_failures_total',
    help: 'Fan-out chunks that failed (published again later) and fan-out jobs set aside because the channel refuses them.',
    registers: [this.own],
  });
  private readonly playerReports = new Counter({
    name: 'makapix_player_reports_total',
    help: 'What players report on their own topics (view, capabilities, state, command_ack), by what became of it (recorded, stored, ignored, an error code, dropped_<reason>).',
    labelNames: ['kind', 'outcome'] as const,
    registers: [this.own],
  });
  private readonly markedOffline = new Counter({
    name: 'makapix_players_marked_offline_total',
    help: 'Players marked offline by the presence sweep after their silence.',
    registers: [this.own],
  });
  private readonly httpRequests = new Counter({
    name: 'makapix_http_requests_total',
    help: 'REST requests answered, by route (the spec\'s path template, unmatched for no route), method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.own],
  });
  private readonly httpDuration = new Histogram({
    name: 'makapix_http_request_duration_seconds',
    help: 'REST request durations (Fastify: from the request to the end of the response).',
    labelNames: ['route', 'method'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.own],
  });
  private readonly playersOnline = new Gauge({
    name: 'makapix_players_online',
    help: 'Registered players online (the database\'s view of the whole deployment; NaN when it could not be read).',
    registers: [this.own],
  });
  private readonly outboxPending = new Gauge({
    name: 'makapix_outbox_pending',
    help: 'Outbox rows not yet published (the whole deployment; NaN when it could not be read).',
    registers: [this.own],
  });
  private readonly dbPoolInUse = new Gauge({
    name: 'makapix_db_pool_in_use',
    help: 'Connections of this instance\'s pool that PostgreSQL sees busy (pg_stat_activity, the scrape\'s own excluded).',
    registers: [this.own],
  });
  private readonly dbPoolMax = new Gauge({
    name: 'makapix_db_pool_max',
    help: 'The size of this instance\'s database pool (DATABASE_POOL_MAX).',
    registers: [this.own],
  });
  private readonly brokerConnected = new Gauge({
    name: 'makapix_broker_connected',
    help: 'Whether each of this instance\'s broker connections is up (1) or not (0); dynsec_admin is opened on use.',
    labelNames: ['connection'] as const,
    registers: [this.own],
  });

  constructor(private readonly opts: PromMetricsOptions) {
    this.dbPoolMax.set(opts.dbPoolMax);
    // the series a dashboard expects exist from the start
    for (const t of REQUEST_TYPES) this.mqttRequests.inc({ request_type: t, outcome: 'success' }, 0);
    for (const r of DROP_REASONS) this.mqttDroppedCounter.inc({ reason: r }, 0);
    for (const c of NOTIFICATION_CHANNELS) this.notifications.inc({ channel: c }, 0);
    for (const r of ['applied', 'ignored', 'failed']) this.statusUpdatesCounter.inc({ result: r }, 0);
    for (const k of ['retry', 'parked']) this.notificationFailuresCounter.inc({ kind: k }, 0);
    this.registry = Registry.merge([processMetrics(), this.own]);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  mqttRequestAnswered(requestType: string | undefined, outcome: string): void {
    this.mqttRequests.inc({ request_type: requestTypeLabel(requestType), outcome: outcomeLabel(outcome) });
  }

  mqttRequestPublished(requestType: string | undefined, seconds: number): void {
    this.mqttDuration.observe({ request_type: requestTypeLabel(requestType) }, seconds);
  }

  mqttRequestReplayed(requestType: string): void {
    this.mqttReplayed.inc({ request_type: requestTypeLabel(requestType) });
  }

  mqttDropped(reason: DropReason): void {
    this.mqttDroppedCounter.inc({ reason: dropReasonLabel(reason) });
  }

  statusReceived(): void {
    this.statusMessages.inc();
  }

  statusUpdates(result: StatusUpdateResult, count: number): void {
    if (count > 0) this.statusUpdatesCounter.inc({ result }, count);
  }

  notificationsPublished(channel: NotificationChannel, count: number): void {
    if (count > 0) this.notifications.inc({ channel }, count);
  }

  notificationFailures(kind: NotificationFailure, count: number): void {
    if (count > 0) this.notificationFailuresCounter.inc({ kind }, count);
  }

  fanoutRows(count: number): void {
    if (count > 0) this.fanoutRowsCounter.inc(count);
  }

  fanoutFailed(): void {
    this.fanoutFailures.inc();
  }

  playerReport(kind: PlayerReportKind, outcome: string, count = 1): void {
    if (count > 0) this.playerReports.inc({ kind, outcome: playerReportOutcomeLabel(outcome) }, count);
  }

  playersMarkedOffline(count: number): void {
    if (count > 0) this.markedOffline.inc(count);
  }

  httpRequest(route: string, method: string, status: number, seconds: number): void {
    const m = methodLabel(method);
    this.httpRequests.inc({ route, method: m, status: String(status) });
    this.httpDuration.observe({ route, method: m }, seconds);
  }

  setGaugeSources(sources: GaugeSources): void {
    this.sources = sources;
  }

  async exposition(): Promise<string> {
    await this.readGauges();
    return this.registry.metrics();
  }

  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const family = this.registry.getSingleMetric(name) ?? this.registry.getSingleMetric(name.replace(/_(count|sum|bucket)$/, ''));
    if (family === undefined) throw new Error(`no metric named ${name}`);
    const { values } = await family.get();
    let sum = 0;
    for (const v of values as { value: number; labels: Record<string, string | number>; metricName?: string }[]) {
      if ((v.metricName ?? name) !== name) continue;
      if (Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want)) sum += v.value;
    }
    return sum;
  }

  private async readGauges(): Promise<void> {
    const brokers = this.sources.brokers?.() ?? {};
    for (const [connection, up] of Object.entries(brokers)) this.brokerConnected.set({ connection }, up ? 1 : 0);
    if (this.sources.database === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      const g = await Promise.race([
        this.sources.database(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`the database did not answer within ${GAUGE_QUERY_TIMEOUT_MS} ms`)), GAUGE_QUERY_TIMEOUT_MS);
        }),
      ]);
      this.playersOnline.set(g.playersOnline);
      this.outboxPending.set(g.outboxPending);
      this.dbPoolInUse.set(g.poolInUse);
    } catch (err) {
      this.playersOnline.set(NaN);
      this.outboxPending.set(NaN);
      this.dbPoolInUse.set(NaN);
      this.opts.onGaugeError?.(err);
    } finally {
      clearTimeout(timer);
    }
  }
}

const noop = (): void => {};

/** METRICS_PORT=0: nothing is kept, nothing is exposed. */
export const disabledMetrics: Metrics = {
  enabled: false,
  mqttRequestAnswered: noop,
  mqttRequestPublished: noop,
  mqttRequestReplayed: noop,
  mqttDropped: noop,
  statusReceived: noop,
  statusUpdates: noop,
  notificationsPublished: noop,
  notificationFailures: noop,
  fanoutRows: noop,
  fanoutFailed: noop,
  playerReport: noop,
  playersMarkedOffline: noop,
  httpRequest: noop,
  setGaugeSources: noop,
  contentType: 'text/plain; version=0.0.4; charset=utf-8',
  exposition: async () => '',
  value: async () => 0,
};
