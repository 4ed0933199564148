// The server process: config -> database (migrations) -> CA -> broker connection -> REST app and
// MQTT workers -> the Prometheus listener (metrics/, METRICS_PORT; 0: no metrics). `startServer` is used by
// main (below), by `make run` (server/devenv/run.ts) and by the tests.
// A database or broker that is not reachable yet is waited for (startup/, STARTUP_WAIT_SECONDS);
// the logger is wrapped so that secrets stay out of the logs (logging/).
import { randomUUID } from 'node:crypto';
import { pino, type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { MqttClient } from 'mqtt';
import { MessageRouter } from '#runtime/v1';
import { limits } from '@makapix/contract/asyncapi/limits';
import { buildApp } from './app.js';
import { loadConfig, type Config } from './config.js';
import type { AppContext } from './context.js';
import { createSqlFromConfig, readDatabaseGauges } from './db/index.js';
import { createLogger, withSecretRedaction } from './logging/index.js';
import { disabledMetrics, PromMetrics, startMetricsListener, type Metrics } from './metrics/index.js';
import { loadOrCreateCa } from './pki/index.js';
import { createBrokerAdmin, type BrokerAdminFactory } from './broker/index.js';
import { RateLimiter } from './services/rate-limiter.js';
import { startWorkers, type Workers } from './mqtt/workers.js';
import { StartupBudget, connectBrokerWhenReachable, migrateWhenReachable } from './startup/index.js';
import { FsVaultStore, Vault } from './vault/index.js';
import { startVaultSweep } from './vault/sweep-timer.js';

export interface ServerHandle {
  ctx: AppContext;
  app: FastifyInstance;
  /** http://host:port once listening. */
  url: string;
  /** http://host:port/metrics of the Prometheus listener; null when METRICS_PORT=0. */
  metricsUrl: string | null;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Wrapped so that secrets stay out of it (logging/redacting-logger.ts). */
  log?: Logger;
  /** Listen on config.http (default true); tests may pass port 0 in the config instead. */
  listen?: boolean;
  /** Start the MQTT workers (requests, status, notifications, presence). Default true. */
  workers?: boolean;
  /** Builds the broker admin instead of the one BROKER_ADMIN names (tests: another implementation). */
  brokerAdmin?: BrokerAdminFactory;
}

/**
 * Starts the server. An unreachable database or broker is retried until config.startupWaitSeconds
 * are spent (startup/); rejected credentials fail at once. Throws StartupError naming what failed.
 */
export async function startServer(config: Config, opts: StartOptions = {}): Promise<ServerHandle> {
  const log = withSecretRedaction(opts.log ?? pino({ level: config.logLevel }));
  const budget = new StartupBudget(config.startupWaitSeconds);
  // this instance's connections in pg_stat_activity (makapix_db_pool_in_use)
  const applicationName = `makapix-server-${randomUUID().slice(0, 8)}`;
  const sql = createSqlFromConfig(config, { applicationName });
  const metrics: Metrics = config.metrics.port === 0
    ? disabledMetrics
    : new PromMetrics({
      dbPoolMax: config.database.poolMax,
      onGaugeError: (err) => log.warn({ err: err instanceof Error ? err.message : String(err) }, 'a metrics gauge could not be read from the database'),
    });
  const cleanups: (() => Promise<unknown>)[] = [() => sql.end({ timeout: 5 })];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch((err) => log.warn({ err }, 'shutdown step failed'));
  };
  try {
    await migrateWhenReachable(sql, { url: config.database.url, budget, log });
    const ca = await loadOrCreateCa(config.pki.caDir);
    const client = await connectBrokerWhenReachable(config.broker.internalUrl, {
      protocolVersion: 5,
      clientId: `makapix-server-${randomUUID()}`,
      username: config.broker.internalUsername,
      password: config.broker.internalPassword,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      keepalive: 30,
      properties: { receiveMaximum: config.broker.inboundInFlight },
    }, { budget, log });
    cleanups.push(() => endClient(client));
    client.on('error', (err) => log.warn({ err: err.message }, 'mqtt client error'));
    const router = new MessageRouter(client, {
      maxPayloadBytes: limits.maxPayloadBytes,
      onError: (e) => {
        metrics.mqttDropped(e.reason);
        log.warn({ topic: e.topic, reason: e.reason, detail: e.message }, 'inbound MQTT message dropped');
      },
    });
    const now = () => new Date();
    const brokerAdmin = (opts.brokerAdmin ?? createBrokerAdmin)({ config, sql, ca, router, log, now });
    cleanups.push(() => brokerAdmin.close());
    await brokerAdmin.start();
    let workers: Workers | null = null;
    const ctx: AppContext = {
      config, sql, log, mqtt: client, router, ca, metrics, brokerAdmin,
      rateLimiter: new RateLimiter(sql, config.rateLimits.windowSeconds, (err) => log.warn({ err }, 'rate-limit refund failed'), config.rateLimits.windowOriginSeconds),
      wakePublisher: () => workers?.wakePublisher(),
      vault: new Vault(new FsVaultStore(config.vault.dir), config.vault, `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${config.http.port}`),
      now,
    };
    if (opts.workers !== false) {
      workers = await startWorkers(ctx);
      cleanups.push(() => workers!.stop());
    }
    const app = await buildApp(ctx);
    cleanups.push(() => app.close());
    let url = '';
    if (opts.listen !== false) {
      url = await app.listen({ host: config.http.host, port: config.http.port });
      ctx.vault.useListenAddress(url); // used only while VAULT_PUBLIC_URL is unset
    } else {
      await app.ready();
    }
    if (config.vault.sweepIntervalSeconds > 0) {
      const sweep = startVaultSweep(ctx, config.vault.sweepIntervalSeconds);
      cleanups.push(() => sweep.stop());
    }
    let metricsUrl: string | null = null;
    if (metrics.enabled) {
      metrics.setGaugeSources({
        database: () => readDatabaseGauges(sql, applicationName),
        brokers: () => ({ ...brokerAdmin.connections(), internal: client.connected }),
      });
      const listener = await startMetricsListener(metrics, config.metrics, (err) => log.error({ err }, 'collecting the metrics failed'));
      cleanups.push(() => listener.close());
      metricsUrl = listener.url;
    }
    return { ctx, app, url, metricsUrl, stop: cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** How long a graceful MQTT disconnect may take before the connection is dropped. */
const MQTT_END_GRACE_MS = 2_000;

/**
 * Ends the server's broker connection: a graceful DISCONNECT when connected, else (the broker is
 * gone, the client is between reconnect attempts) at once: mqtt.js' graceful end() never settles
 * then, which used to hang the shutdown.
 */
async function endClient(client: MqttClient): Promise<void> {
  if (client.connected) {
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([
      client.endAsync().then(() => true),
      new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), MQTT_END_GRACE_MS); }),
    ]).finally(() => clearTimeout(timer));
    if (ended) return;
  }
  await client.endAsync(true);
}

/** `tsx server/src/main.ts`: configuration from the environment; SIGINT/SIGTERM stop gracefully. */
export async function main(): Promise<void> {
  const config = loadConfig();
  const log = createLogger({ level: config.logLevel, format: config.logFormat, environment: config.environment });
  const server = await startServer(config, { log });
  log.info({ url: server.url, metrics: server.metricsUrl }, 'makapix server listening');
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
