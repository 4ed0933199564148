// What every handler needs, built once by main.ts (and by the test harness).
import type { FastifyBaseLogger } from 'fastify';
import type { MqttClient } from 'mqtt';
import type { MessageRouter } from '#runtime/v1';
import type { BrokerAdmin } from './broker/broker-admin.js';
import type { Config } from './config.js';
import type { Sql } from './db/index.js';
import type { CertificateAuthority } from './pki/index.js';
import type { Metrics } from './metrics/index.js';
import type { RateLimiter } from './services/rate-limiter.js';
import type { Vault } from './vault/index.js';

export interface AppContext {
  config: Config;
  sql: Sql;
  log: FastifyBaseLogger;
  /** The server's own connection to the internal listener. */
  mqtt: MqttClient;
  router: MessageRouter;
  ca: CertificateAuthority;
  /** Prometheus metrics (metrics/); no-ops when METRICS_PORT=0. */
  metrics: Metrics;
  /** Web users' broker accounts, revocations and kicks: the broker-specific part (BROKER_ADMIN; broker/broker-admin.ts). */
  brokerAdmin: BrokerAdmin;
  /** Batched rate-limit hits (MQTT requests, REST commands). */
  rateLimiter: RateLimiter;
  /** Wakes the notification publisher after an outbox insert (it also polls). */
  wakePublisher: () => void;
  /** The artwork vault: uploaded files, their store and public addresses. */
  vault: Vault;
  now: () => Date;
}
