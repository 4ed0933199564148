// Typed server configuration, read once from the environment.
// Every variable has a default suitable for `make run` on one machine; a bad value fails
// startup with a ConfigError that names each offending variable (all problems reported at once).
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

export type Environment = 'production' | 'development';

export const DEVICE_TOKEN_ROTATIONS = ['immediate', 'owner_confirmation'] as const;
export type DeviceTokenRotation = (typeof DEVICE_TOKEN_ROTATIONS)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * BROKER_ADMIN: the implementation of the broker-admin interface (broker/broker-admin.ts: web users'
 * broker accounts, revocation, kick). `mosquitto`: the embedded Mosquitto 2.0 (dynamic security,
 * CRL file + SIGHUP, session takeover; broker/mosquitto/).
 */
export const BROKER_ADMINS = ['mosquitto'] as const;
export type BrokerAdminKind = (typeof BROKER_ADMINS)[number];

/** LOG_FORMAT: `auto` is pretty on a terminal in development, JSON otherwise; production is always JSON. */
export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export type LogFormatSetting = (typeof LOG_FORMATS)[number];

/** What a logger is built from (logging/create-logger.ts). */
export interface LogSettings {
  level: LogLevel;
  format: LogFormatSetting;
  environment: Environment;
}

/** Tuning of the MQTT workers (mqtt/workers.ts). */
export interface WorkerSettings {
  /** How often an instance marks silent players offline. */
  presenceSweepSeconds: number;
  /** Silence after which an online player is marked offline. */
  presenceTimeoutSeconds: number;
  /** Status messages arriving within this window are written with one statement. */
  statusBatchMs: number;
  /** The slow poll of the notification publisher (it is also woken on insert). */
  outboxPollSeconds: number;
  /** Followers per chunk of a new post's fan-out: published together, then the job's cursor moves past them. */
  fanoutChunk: number;
  /** How often old idempotency records, rate-limit counters, published outbox rows and finished fan-out jobs are purged. */
  housekeepingSeconds: number;
}

export interface Config {
  environment: Environment;
  /** The server's log level (pino). */
  logLevel: LogLevel;
  /** Log lines as JSON or pretty-printed (auto: pretty on a terminal, outside production). */
  logFormat: LogFormatSetting;
  /** The Prometheus listener (GET /metrics on its own host and port); port 0: no metrics at all. */
  metrics: { host: string; port: number };
  /** POST /mqtt/demo is served only outside production. */
  demoEnabled: boolean;
  /** trustProxy: false, true, or addresses/CIDRs of the proxies whose X-Forwarded-For is believed. */
  http: { host: string; port: number; trustProxy: boolean | string };
  database: { url: string; poolMax: number };
  /** How long, in total, startup keeps retrying an unreachable database or broker (0: one attempt each). */
  startupWaitSeconds: number;
  /** Absolute path of the data directory (broker files, database cluster, CA, generated secrets). */
  dataDir: string;
  broker: {
    /** The API server's own connection (password listener). */
    internalUrl: string;
    internalUsername: string;
    internalPassword: string;
    /** mTLS listener, as reachable from the server (tests, health checks, and the probes that confirm a revocation is in force). */
    mtlsUrl: string;
    /** WebSocket listener, as reachable from the server (dynamic-security administration). */
    websocketUrl: string;
    /** Host and port handed to devices in provision/credentials responses. */
    publicHost: string;
    publicPort: number;
    /** WebSocket URL handed to browsers by GET /mqtt/bootstrap. */
    publicWebsocketUrl: string;
    /** Shared-subscription group of the server instances ($share/<group>/...). */
    shareGroup: string;
    /**
     * The request pipeline's own connection (MQTT_CLIENT_ID, MQTT_SESSION_EXPIRY_SECONDS): a fixed
     * client id per instance and a persistent session, so that requests published while this
     * instance restarts wait for it in the broker (its share of the group's requests keeps being
     * queued for it), and a request is acknowledged to the broker only once answered.
     * sessionExpirySeconds 0: a clean session, as before (requests arriving while it is away are lost).
     * inFlight (MQTT_REQUESTS_IN_FLIGHT): requests the broker hands this instance before their
     * answers (MQTT 5 Receive Maximum; without it Mosquitto allows 20); the rest wait in the broker,
     * so a restarted instance is not flooded with its whole backlog at once.
     * takeoverSeconds (MQTT_SESSION_TAKEOVER_SECONDS): an instance whose heartbeat (table
     * request_sessions) is older than this is taken over by a live one, which answers the
     * requests waiting in its session and ends it (mqtt/session-takeover.ts); 0: never.
     */
    requests: { clientId: string; sessionExpirySeconds: number; inFlight: number; takeoverSeconds: number };
    /**
     * MQTT_INBOUND_IN_FLIGHT: QoS 1 messages (player statuses, command acknowledgements, views) the
     * broker hands the server's main connection before their PUBACKs (MQTT 5 Receive Maximum).
     * Mosquitto's own default is 20, which caps what one instance receives at 20 per round trip
     * and leaves the rest to its queue (server/bench/ingest.ts: 4,722 statuses/s received with
     * 20, 7,298 with 1000, one run each on the shared 2 cores).
     */
    inboundInFlight: number;
    /** BROKER_ADMIN: which broker-admin implementation (broker/index.ts) the server uses. */
    admin: BrokerAdminKind;
    /** Dynamic-security admin account on the WebSocket listener (web users' credentials); null disables GET /mqtt/bootstrap credentials. */
    dynsecAdmin: { username: string; password: string } | null;
    /** The CRL file the mTLS listener reads (`crlfile`); the server rewrites it when a player is deleted. */
    crlFile: string | null;
    /**
     * The broker's PID file: after rewriting the CRL the server sends SIGHUP so the broker re-reads
     * it, only to a live `mosquitto` whose config sets `crlfile` to crlFile (a stale file is never
     * trusted); without it a deleted player is confirmed revoked only once the broker restarts.
     */
    pidFile: string | null;
  };
  auth: {
    /** HS256 secret (at least 32 bytes). From JWT_SECRET, else generated once under dataDir. */
    jwtSecret: Buffer;
    /** Lifetime of the tokens of authRegister, authLogin and authChangePassword (TOKEN_TTL_SECONDS). */
    tokenTtlSeconds: number;
    /** Lifetime of authToken's access tokens (ACCESS_TOKEN_TTL_SECONDS); the app refreshes them. */
    accessTokenTtlSeconds: number;
    /** Lifetime of authToken's refresh tokens (REFRESH_TOKEN_TTL_SECONDS); each is used once. */
    refreshTokenTtlSeconds: number;
    /** scrypt cost parameter N (power of two). */
    scryptN: number;
  };
  pki: {
    /** Directory holding ca.crt / ca.key (created when absent). */
    caDir: string;
    /** Validity of issued player certificates (CERT_VALIDITY_DAYS). */
    certValidityDays: number;
    /** Renewal is allowed from this many days before a certificate expires (CERT_RENEW_WINDOW_DAYS). */
    renewWindowDays: number;
  };
  /**
   * getPlayerCredentials serves a server-generated private key for this many seconds after its
   * first fetch (a device that lost power mid-download fetches again), then answers 410 gone and
   * forgets the key (CREDENTIALS_KEY_GRACE_SECONDS).
   */
  credentialsKeyGraceSeconds: number;
  /** Players' device tokens (renewDeviceCert, rotatePlayerToken). */
  deviceTokens: {
    /** 'immediate': rotatePlayerToken answers the new token; 'owner_confirmation': it waits for the owner's approval (202). */
    rotation: DeviceTokenRotation;
  };
  registrationCodeTtlSeconds: number;
  workers: WorkerSettings;
  /** The published docs (GET /docs, /openapi.json, ...): the folder `make docs` builds (DOCS_DIR, default docs/site). */
  docs: { dir: string };
  /** The artwork vault (server/src/vault/): uploaded files, where they are kept and served, their limits. */
  vault: {
    /** Directory of the filesystem store (VAULT_DIR, default <DATA_DIR>/vault). */
    dir: string;
    /**
     * VAULT_PUBLIC_URL: base URL of the vault as players and clients reach it (art_url =
     * `<base>/<aa>/<bb>/<storage_key>.<ext>`), without a trailing slash; null: the API's own
     * `/vault` at the address the server listens on.
     */
    publicUrl: string | null;
    /** The path this server serves the vault under: the path of VAULT_PUBLIC_URL ('/vault' by default, '' for a root URL). */
    routePrefix: string;
    limits: { maxBytes: number; maxWidth: number; maxHeight: number; maxFrames: number };
    /** Seconds between orphan sweeps (files without a committed row); 0: never. */
    sweepIntervalSeconds: number;
  };
  rateLimits: {
    perPlayerPerMinute: number;
    perUserPerMinute: number;
    provisionPerAddressPerMinute: number;
    signupPerAddressPerMinute: number;
    /** Login attempts for one email from one client address (a guesser elsewhere never locks the owner out). */
    loginPerEmailPerAddressPerMinute: number;
    /** Login attempts from one client address, any email (bounds guessing and password-hash work per address). */
    loginPerAddressPerMinute: number;
    /** authChangePassword calls per user (each checks a password). */
    passwordChangePerUserPerMinute: number;
    registerPlayerPerUserPerMinute: number;
    bootstrapPerUserPerMinute: number;
    /** rotatePlayerToken calls per player_key. */
    tokenRotatePerPlayerPerMinute: number;
    /** renewDeviceCert calls per player. */
    renewCertPerPlayerPerMinute: number;
    /** Length of a rate-limit window in seconds (60: the limits are per minute). */
    windowSeconds: number;
    /** Epoch second the windows are counted from (0: windows on the clock's multiples of windowSeconds; tests set it to start a window with their stack). */
    windowOriginSeconds: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!/^[0-9]+$/.test(v) || Number(v) < min || Number(v) > max) {
      this.problems.push(`${name} must be an integer between ${min} and ${max} (got ${JSON.stringify(v)})`);
      return fallback;
    }
    return Number(v);
  }

  port(name: string, fallback: number): number {
    return this.int(name, fallback, 1, 65535);
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(v)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
      return fallback;
    }
    return v as T;
  }

  url(name: string, fallback: string, protocols: readonly string[]): string {
    const v = this.raw(name) ?? fallback;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      this.problems.push(`${name} must be a URL (got ${JSON.stringify(v)})`);
      return fallback;
    }
    if (!protocols.includes(u.protocol)) {
      this.problems.push(`${name} must use ${protocols.map((p) => `${p}//`).join(' or ')} (got ${JSON.stringify(v)})`);
      return fallback;
    }
    return v;
  }
}

function portOf(url: string, fallback: number): number {
  try {
    const u = new URL(url);
    return u.port ? Number(u.port) : fallback;
  } catch {
    return fallback;
  }
}

function hostOf(url: string, fallback: string): string {
  try {
    return new URL(url).hostname || fallback;
  } catch {
    return fallback;
  }
}

/** VAULT_PUBLIC_URL (http or https, no query, fragment or credentials; trailing slashes dropped) and the path it gives. */
function readVaultPublicUrl(r: Reader): { publicUrl: string | null; routePrefix: string } {
  const raw = r.raw('VAULT_PUBLIC_URL');
  if (raw === undefined) return { publicUrl: null, routePrefix: '/vault' };
  const problem = (why: string) => {
    r.problems.push(`VAULT_PUBLIC_URL must be an http:// or https:// URL without query, fragment or credentials, e.g. https://vault.example.com or http://localhost:8000/vault; ${why} (got ${JSON.stringify(raw)})`);
    return { publicUrl: null, routePrefix: '/vault' };
  };
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return problem('it does not parse');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return problem(`${u.protocol} is not http: or https:`);
  if (u.search || u.hash || u.username || u.password || raw.includes('?') || raw.includes('#')) return problem('it has a query, fragment or credentials');
  const routePrefix = u.pathname.replace(/\/+$/, '');
  if (!/^(\/[A-Za-z0-9._~-]+)*$/.test(routePrefix) || routePrefix.split('/').some((seg) => seg === '.' || seg === '..')) {
    return problem('its path must be plain segments (letters, digits, . _ ~ -)');
  }
  return { publicUrl: `${u.origin}${routePrefix}`, routePrefix };
}

/** The JWT secret: JWT_SECRET if set (>= 32 bytes), else `<dataDir>/jwt-secret`, created on first use. */
function resolveJwtSecret(r: Reader, dataDir: string): Buffer {
  const fromEnv = r.raw('JWT_SECRET');
  if (fromEnv !== undefined) {
    const buf = Buffer.from(fromEnv, 'utf8');
    if (buf.length < 32) {
      r.problems.push('JWT_SECRET must be at least 32 bytes long (or unset it to have one generated under DATA_DIR)');
    }
    return buf;
  }
  const file = join(dataDir, 'jwt-secret');
  try {
    if (!existsSync(file)) {
      mkdirSync(dataDir, { recursive: true });
      // Write under a temporary name, then link: two instances starting together agree on one secret.
      const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
      writeFileSync(tmp, randomBytes(48).toString('base64url') + '\n', { mode: 0o600 });
      try {
        linkSync(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        unlinkSync(tmp);
      }
      chmodSync(file, 0o600);
    }
    const secret = Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8');
    if (secret.length < 32) r.problems.push(`${file} (the generated JWT secret) is shorter than 32 bytes; delete it or set JWT_SECRET`);
    return secret;
  } catch (err) {
    r.problems.push(`JWT_SECRET is not set and ${file} could not be read or created: ${(err as Error).message}`);
    return Buffer.alloc(0);
  }
}

const readLogLevel = (r: Reader): LogLevel => r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info');

const readEnvironment = (r: Reader, env: Env): Environment =>
  r.oneOf('MAKAPIX_ENV', ['production', 'development'] as const, env.NODE_ENV === 'production' ? 'production' : 'development');

function readLogSettings(r: Reader, env: Env): LogSettings {
  const environment = readEnvironment(r, env);
  const level = readLogLevel(r);
  const format = r.oneOf('LOG_FORMAT', LOG_FORMATS, 'auto');
  if (format === 'pretty' && environment === 'production') {
    r.problems.push('LOG_FORMAT must be json or auto in production (logs are JSON there; got "pretty")');
  }
  return { level, format, environment };
}

/** MQTT_PUBLIC_HOST (default: the host of MQTT_MTLS_URL), checked: the host devices are told to connect to. */
function readPublicHost(r: Reader, mtlsUrl: string): string {
  const publicHost = r.string('MQTT_PUBLIC_HOST', hostOf(mtlsUrl, '127.0.0.1'));
  if (!/^[A-Za-z0-9.:\-\[\]]+$/.test(publicHost)) {
    r.problems.push(`MQTT_PUBLIC_HOST must be a host name or IP address (got ${JSON.stringify(publicHost)})`);
  }
  return publicHost;
}

/**
 * MQTT_PUBLIC_HOST alone, as devices are told it (for the dev PKI, which must put it in the
 * broker certificate's names before the rest of the configuration can be read). Throws ConfigError.
 */
export function loadBrokerPublicHost(env: Env = process.env): string {
  const r = new Reader(env);
  const mtlsUrl = r.url('MQTT_MTLS_URL', 'mqtts://127.0.0.1:8883', ['mqtts:', 'tls:', 'ssl:']);
  const host = readPublicHost(r, mtlsUrl);
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return host;
}

/**
 * LOG_LEVEL alone (for a logger needed before the rest of the configuration can be read, as
 * `make run` has while it starts the broker and the database). Throws ConfigError.
 */
export function loadLogLevel(env: Env = process.env): LogLevel {
  return loadLogSettings(env).level;
}

/** LOG_LEVEL, LOG_FORMAT and the environment alone, for the same early logger. Throws ConfigError. */
export function loadLogSettings(env: Env = process.env): LogSettings {
  const r = new Reader(env);
  const settings = readLogSettings(r, env);
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return settings;
}

const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/makapix';

/**
 * DATABASE_URL alone (default as loadConfig's), for the operator command (server/src/admin/cli.ts),
 * which must not need or create anything else the server does. Throws ConfigError.
 */
export function loadDatabaseUrl(env: Env = process.env): string {
  const r = new Reader(env);
  const url = r.url('DATABASE_URL', DEFAULT_DATABASE_URL, ['postgres:', 'postgresql:']);
  if (r.problems.length > 0) throw new ConfigError(r.problems);
  return url;
}

/**
 * Reads the configuration. Variables:
 * MAKAPIX_ENV (production|development; default: production when NODE_ENV=production, else development),
 * LOG_LEVEL (info; fatal, error, warn, info, debug, trace or silent),
 * LOG_FORMAT (auto; pretty or json: auto pretty-prints when stdout is a terminal outside production, JSON otherwise; pretty is refused in production),
 * METRICS_HOST (127.0.0.1) / METRICS_PORT (9464; 0: no metrics listener and no metrics kept): Prometheus GET /metrics,
 * HTTP_HOST (127.0.0.1), HTTP_PORT (8000), HTTP_TRUST_PROXY (false; per-address limits use X-Forwarded-For only from trusted proxies), DATABASE_URL, DATABASE_POOL_MAX (10), DATA_DIR (.data),
 * MQTT_INTERNAL_URL (mqtt://127.0.0.1:1883), MQTT_INTERNAL_USERNAME (api), MQTT_INTERNAL_PASSWORD,
 * MQTT_MTLS_URL (mqtts://127.0.0.1:8883), MQTT_WEBSOCKET_URL (ws://127.0.0.1:9001),
 * MQTT_PUBLIC_HOST / MQTT_PUBLIC_PORT (default: host/port of MQTT_MTLS_URL),
 * MQTT_PUBLIC_WEBSOCKET_URL (default: MQTT_WEBSOCKET_URL), MQTT_SHARE_GROUP (makapix-api),
 * MQTT_CLIENT_ID (the request connection's client id, fixed per instance: two instances must differ; 1..64 letters, digits,
 * '_', '-', '.'; default makapix-server-<host name>-<HTTP_PORT>, or, with HTTP_PORT 0, a random id with a clean session),
 * MQTT_SESSION_EXPIRY_SECONDS (300; 0..86400: how long the broker keeps an absent instance's session and queues its share
 * of the requests for it; 0: clean sessions), MQTT_REQUESTS_IN_FLIGHT (256; 1..65535: requests handed to this instance
 * and not answered yet, at most; the broker keeps the others), MQTT_SESSION_TAKEOVER_SECONDS (15; 0..3600, less than the
 * session expiry: a live instance takes over the session of one silent this long and answers what waits in it; 0: never),
 * MQTT_INBOUND_IN_FLIGHT (1000; 1..65535: QoS 1 messages of the main connection, statuses above all, handed over before
 * their PUBACKs),
 * JWT_SECRET, TOKEN_TTL_SECONDS (604800; authRegister/authLogin tokens), ACCESS_TOKEN_TTL_SECONDS (3600; authToken's
 * access tokens), REFRESH_TOKEN_TTL_SECONDS (2592000; authToken's refresh tokens, at least ACCESS_TOKEN_TTL_SECONDS),
 * RATE_LIMIT_PASSWORD_CHANGE_PER_MINUTE (10, per user). MAKAPIX_MODERATORS is refused (roles come from `make admin`),
 * SCRYPT_N (32768), CA_DIR (<DATA_DIR>/certs), RATE_LIMIT_PLAYER_PER_MINUTE (600),
 * RATE_LIMIT_USER_PER_MINUTE (1000), RATE_LIMIT_PROVISION_PER_MINUTE (30, per client address),
 * RATE_LIMIT_SIGNUP_PER_MINUTE (20, per client address), RATE_LIMIT_LOGIN_PER_MINUTE (10, per email and client
 * address), RATE_LIMIT_LOGIN_PER_ADDRESS_PER_MINUTE (30, per client address, any email),
 * RATE_LIMIT_REGISTER_PLAYER_PER_MINUTE (10, per user), RATE_LIMIT_BOOTSTRAP_PER_MINUTE (10, per user),
 * RATE_LIMIT_TOKEN_ROTATE_PER_MINUTE (3, per player_key), RATE_LIMIT_RENEW_CERT_PER_MINUTE (5, per player),
 * CERT_VALIDITY_DAYS (365; 2..3650, issued player certificates), CERT_RENEW_WINDOW_DAYS (30; renewal allowed from this
 * many days before expiry, less than CERT_VALIDITY_DAYS), DEVICE_TOKEN_ROTATION (immediate; or owner_confirmation:
 * rotatePlayerToken waits for the owner's approval),
 * CREDENTIALS_KEY_GRACE_SECONDS (900; 0..86400: getPlayerCredentials serves a server-generated private key this long after
 * its first fetch, then answers 410 gone and forgets it),
 * RATE_LIMIT_WINDOW_SECONDS (60; the "per minute" limits count per window of this length),
 * RATE_LIMIT_WINDOW_ORIGIN (0; epoch second the windows are counted from: 0 aligns them on the clock;
 * a limit of 40 or more is counted in memory against leases of limit/20 slots taken from the shared
 * counter, so with N instances at most the limit passes and at least the limit minus N x (limit/20 - 1):
 * under 5 % per instance; services/rate-limiter.ts),
 * BROKER_ADMIN (mosquitto; the only one so far: how web users' broker accounts, revocations and kicks reach the broker,
 * broker/broker-admin.ts; another value fails startup naming the accepted ones), and for mosquitto:
 * MQTT_DYNSEC_ADMIN_USERNAME / MQTT_DYNSEC_ADMIN_PASSWORD, BROKER_CRL_FILE, BROKER_PID_FILE,
 * STARTUP_WAIT_SECONDS (60; how long startup retries an unreachable PostgreSQL or broker, 0: fail at once),
 * and the MQTT workers' tuning: PRESENCE_SWEEP_SECONDS (30; how often an instance marks silent players
 * offline), PRESENCE_TIMEOUT_SECONDS (180; silence after which an online player is marked offline),
 * STATUS_BATCH_MS (20; status messages within this window are written with one statement),
 * OUTBOX_POLL_SECONDS (5; the notification publisher's slow poll, it is also woken on insert),
 * FANOUT_CHUNK (5000, at most 20000; followers per chunk of a new post's fan-out: a chunk is published at once, and
 * after a failure or a crash inside it, published again whole, mqtt/outbox-publisher.ts),
 * HOUSEKEEPING_SECONDS (600; how often old idempotency records, rate-limit counters, published outbox
 * rows and finished follower fan-out jobs are purged).
 * VAULT_DIR (<DATA_DIR>/vault), VAULT_PUBLIC_URL (the API's own /vault; http(s), no query or fragment; its path is
 * where this server serves the vault), VAULT_MAX_BYTES (5242880), VAULT_MAX_WIDTH (256), VAULT_MAX_HEIGHT (256),
 * VAULT_MAX_FRAMES (1024), VAULT_SWEEP_INTERVAL_SECONDS (3600; 0: no orphan sweep).
 * DOCS_DIR (docs/site): the folder of the published docs that `make docs` builds; the server reads each
 * file once, on its first request (a missing folder is no error: the docs routes answer 404 saying so).
 * Side effect: may create DATA_DIR and DATA_DIR/jwt-secret. Throws ConfigError.
 */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const r = new Reader(env);

  const { environment, level: logLevel, format: logFormat } = readLogSettings(r, env);

  const dataDirRaw = r.string('DATA_DIR', '.data');
  const dataDir = isAbsolute(dataDirRaw) ? dataDirRaw : resolve(cwd, dataDirRaw);

  const httpHost = r.string('HTTP_HOST', '127.0.0.1');
  const httpPort = r.int('HTTP_PORT', 8000, 0, 65535); // 0: any free port (tests)
  const trustRaw = r.raw('HTTP_TRUST_PROXY');
  let trustProxy: boolean | string = false;
  if (trustRaw === 'true' || trustRaw === 'false') trustProxy = trustRaw === 'true';
  else if (trustRaw !== undefined && /^[0-9A-Fa-f.:/]+(,[0-9A-Fa-f.:/]+)*$/.test(trustRaw)) trustProxy = trustRaw;
  else if (trustRaw !== undefined) {
    r.problems.push(`HTTP_TRUST_PROXY must be true, false or a comma-separated list of proxy addresses/CIDRs (got ${JSON.stringify(trustRaw)})`);
  }

  const metricsHost = r.string('METRICS_HOST', '127.0.0.1');
  if (!/^[A-Za-z0-9.:\-\[\]]+$/.test(metricsHost)) {
    r.problems.push(`METRICS_HOST must be a host name or IP address (got ${JSON.stringify(metricsHost)})`);
  }
  const metricsPort = r.int('METRICS_PORT', 9464, 0, 65535); // 0: metrics off
  if (metricsPort !== 0 && metricsPort === httpPort && metricsHost === httpHost) {
    r.problems.push(`METRICS_PORT must differ from HTTP_PORT on the same host (both ${httpHost}:${httpPort}); set another port, or 0 to turn metrics off`);
  }

  const databaseUrl = r.url('DATABASE_URL', DEFAULT_DATABASE_URL, ['postgres:', 'postgresql:']);
  const poolMax = r.int('DATABASE_POOL_MAX', 10, 1, 1000);
  const startupWaitSeconds = r.int('STARTUP_WAIT_SECONDS', 60, 0, 86_400);

  const internalUrl = r.url('MQTT_INTERNAL_URL', 'mqtt://127.0.0.1:1883', ['mqtt:', 'mqtts:', 'tcp:', 'tls:']);
  const internalUsername = r.string('MQTT_INTERNAL_USERNAME', 'api');
  const internalPassword = r.raw('MQTT_INTERNAL_PASSWORD') ?? '';
  if (environment === 'production' && internalPassword === '') {
    r.problems.push('MQTT_INTERNAL_PASSWORD must be set in production');
  }
  const mtlsUrl = r.url('MQTT_MTLS_URL', 'mqtts://127.0.0.1:8883', ['mqtts:', 'tls:', 'ssl:']);
  const websocketUrl = r.url('MQTT_WEBSOCKET_URL', 'ws://127.0.0.1:9001', ['ws:', 'wss:']);
  const publicHost = readPublicHost(r, mtlsUrl);
  const publicPort = r.port('MQTT_PUBLIC_PORT', portOf(mtlsUrl, 8883));
  const publicWebsocketUrl = r.url('MQTT_PUBLIC_WEBSOCKET_URL', websocketUrl, ['ws:', 'wss:']);
  const shareGroup = r.string('MQTT_SHARE_GROUP', 'makapix-api');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(shareGroup)) {
    r.problems.push(`MQTT_SHARE_GROUP must be 1..64 letters, digits, '_' or '-' (got ${JSON.stringify(shareGroup)})`);
  }

  // a fixed id resumes the session after a restart; with HTTP_PORT 0 (tests) there is no stable default
  const clientIdRaw = r.raw('MQTT_CLIENT_ID');
  const stableDefault = httpPort === 0 ? null : `makapix-server-${hostname().replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 30)}-${httpPort}`;
  const requestsClientId = clientIdRaw ?? stableDefault ?? `makapix-server-${randomBytes(8).toString('hex')}`;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(requestsClientId)) {
    r.problems.push(`MQTT_CLIENT_ID must be 1..64 letters, digits, '_', '-' or '.' (got ${JSON.stringify(requestsClientId)})`);
  }
  const sessionExpiryRaw = r.int('MQTT_SESSION_EXPIRY_SECONDS', 300, 0, 86_400);
  // a random id can never be resumed: its session would only hold requests nobody comes back for
  const sessionExpirySeconds = clientIdRaw === undefined && stableDefault === null ? 0 : sessionExpiryRaw;
  const requestsInFlight = r.int('MQTT_REQUESTS_IN_FLIGHT', 256, 1, 65_535);
  const inboundInFlight = r.int('MQTT_INBOUND_IN_FLIGHT', 1000, 1, 65_535);
  const takeoverSeconds = r.int('MQTT_SESSION_TAKEOVER_SECONDS', 15, 0, 3600);
  if (sessionExpirySeconds > 0 && takeoverSeconds >= sessionExpirySeconds) {
    r.problems.push(`MQTT_SESSION_TAKEOVER_SECONDS (${takeoverSeconds}) must be less than MQTT_SESSION_EXPIRY_SECONDS (${sessionExpirySeconds}), or a silent instance's session expires before it is taken over (0 turns takeovers off)`);
  }

  const brokerAdmin = r.oneOf('BROKER_ADMIN', BROKER_ADMINS, 'mosquitto');
  const dynsecUser = r.raw('MQTT_DYNSEC_ADMIN_USERNAME');
  const dynsecPassword = r.raw('MQTT_DYNSEC_ADMIN_PASSWORD');
  if ((dynsecUser === undefined) !== (dynsecPassword === undefined)) {
    r.problems.push('MQTT_DYNSEC_ADMIN_USERNAME and MQTT_DYNSEC_ADMIN_PASSWORD must be set together');
  }
  const fileVar = (name: string): string | null => {
    const v = r.raw(name);
    return v === undefined ? null : isAbsolute(v) ? v : resolve(cwd, v);
  };
  const crlFile = fileVar('BROKER_CRL_FILE');
  const pidFile = fileVar('BROKER_PID_FILE');

  const tokenTtlSeconds = r.int('TOKEN_TTL_SECONDS', 7 * 24 * 3600, 60, 366 * 24 * 3600);
  const accessTokenTtlSeconds = r.int('ACCESS_TOKEN_TTL_SECONDS', 3600, 60, 366 * 24 * 3600);
  const refreshTokenTtlSeconds = r.int('REFRESH_TOKEN_TTL_SECONDS', 30 * 24 * 3600, 60, 366 * 24 * 3600);
  if (refreshTokenTtlSeconds < accessTokenTtlSeconds) {
    r.problems.push(`REFRESH_TOKEN_TTL_SECONDS (${refreshTokenTtlSeconds}) must be at least ACCESS_TOKEN_TTL_SECONDS (${accessTokenTtlSeconds})`);
  }
  // Roles by handle let whoever registered a listed handle first become a moderator: refused, so
  // that a deployment still setting it learns that it no longer grants anything.
  if (r.raw('MAKAPIX_MODERATORS') !== undefined) {
    r.problems.push('MAKAPIX_MODERATORS is no longer read (a handle listed before its owner registered it could be taken by anyone); unset it and grant roles to existing accounts with `make admin ARGS="grant moderator <email or user_id>"`');
  }
  const scryptN = r.int('SCRYPT_N', 2 ** 15, 2, 2 ** 20);
  if ((scryptN & (scryptN - 1)) !== 0) r.problems.push(`SCRYPT_N must be a power of two (got ${scryptN})`);

  const caDirRaw = r.raw('CA_DIR');
  const caDir = caDirRaw === undefined ? join(dataDir, 'certs') : isAbsolute(caDirRaw) ? caDirRaw : resolve(cwd, caDirRaw);

  // 600: a p3a channel walk is about 172 requests a minute (pages of 32, 350 ms apart), two walks at
  // once about 343; the rest is room for its retries (3 attempts per request), views and reactions.
  const perPlayerPerMinute = r.int('RATE_LIMIT_PLAYER_PER_MINUTE', 600, 1, 1_000_000);
  const perUserPerMinute = r.int('RATE_LIMIT_USER_PER_MINUTE', 1000, 1, 1_000_000);
  const provisionPerAddressPerMinute = r.int('RATE_LIMIT_PROVISION_PER_MINUTE', 30, 1, 1_000_000);
  const signupPerAddressPerMinute = r.int('RATE_LIMIT_SIGNUP_PER_MINUTE', 20, 1, 1_000_000);
  const loginPerEmailPerAddressPerMinute = r.int('RATE_LIMIT_LOGIN_PER_MINUTE', 10, 1, 1_000_000);
  const loginPerAddressPerMinute = r.int('RATE_LIMIT_LOGIN_PER_ADDRESS_PER_MINUTE', 30, 1, 1_000_000);
  const passwordChangePerUserPerMinute = r.int('RATE_LIMIT_PASSWORD_CHANGE_PER_MINUTE', 10, 1, 1_000_000);
  const registerPlayerPerUserPerMinute = r.int('RATE_LIMIT_REGISTER_PLAYER_PER_MINUTE', 10, 1, 1_000_000);
  const bootstrapPerUserPerMinute = r.int('RATE_LIMIT_BOOTSTRAP_PER_MINUTE', 10, 1, 1_000_000);
  const tokenRotatePerPlayerPerMinute = r.int('RATE_LIMIT_TOKEN_ROTATE_PER_MINUTE', 3, 1, 1_000_000);
  const renewCertPerPlayerPerMinute = r.int('RATE_LIMIT_RENEW_CERT_PER_MINUTE', 5, 1, 1_000_000);
  const windowSeconds = r.int('RATE_LIMIT_WINDOW_SECONDS', 60, 1, 86_400);
  const windowOriginSeconds = r.int('RATE_LIMIT_WINDOW_ORIGIN', 0, 0, 2 ** 40);

  const certValidityDays = r.int('CERT_VALIDITY_DAYS', 365, 2, 3650);
  const renewWindowDays = r.int('CERT_RENEW_WINDOW_DAYS', 30, 1, 3649);
  if (renewWindowDays >= certValidityDays) {
    r.problems.push(`CERT_RENEW_WINDOW_DAYS (${renewWindowDays}) must be less than CERT_VALIDITY_DAYS (${certValidityDays}), or a new certificate could be renewed at once`);
  }
  const credentialsKeyGraceSeconds = r.int('CREDENTIALS_KEY_GRACE_SECONDS', 900, 0, 86_400);
  const deviceTokenRotation = r.oneOf('DEVICE_TOKEN_ROTATION', DEVICE_TOKEN_ROTATIONS, 'immediate');

  const workers: WorkerSettings = {
    presenceSweepSeconds: r.int('PRESENCE_SWEEP_SECONDS', 30, 1, 3600),
    presenceTimeoutSeconds: r.int('PRESENCE_TIMEOUT_SECONDS', 180, 1, 86_400),
    statusBatchMs: r.int('STATUS_BATCH_MS', 20, 0, 5000),
    outboxPollSeconds: r.int('OUTBOX_POLL_SECONDS', 5, 1, 3600),
    fanoutChunk: r.int('FANOUT_CHUNK', 5000, 1, 20_000),
    housekeepingSeconds: r.int('HOUSEKEEPING_SECONDS', 600, 10, 86_400),
  };
  const vaultDirRaw = r.raw('VAULT_DIR');
  const vaultDir = vaultDirRaw === undefined ? join(dataDir, 'vault') : isAbsolute(vaultDirRaw) ? vaultDirRaw : resolve(cwd, vaultDirRaw);
  const vaultPublic = readVaultPublicUrl(r);
  const vaultLimits = {
    maxBytes: r.int('VAULT_MAX_BYTES', 5 * 1024 * 1024, 1, 100 * 1024 * 1024),
    maxWidth: r.int('VAULT_MAX_WIDTH', 256, 1, 4096),
    maxHeight: r.int('VAULT_MAX_HEIGHT', 256, 1, 4096),
    maxFrames: r.int('VAULT_MAX_FRAMES', 1024, 1, 100_000),
  };
  const vaultSweepIntervalSeconds = r.int('VAULT_SWEEP_INTERVAL_SECONDS', 3600, 0, 7 * 86_400);
  const docsDirRaw = r.string('DOCS_DIR', 'docs/site');
  const docsDir = isAbsolute(docsDirRaw) ? docsDirRaw : resolve(cwd, docsDirRaw);

  // The secret file is only created once everything else is known to be valid.
  const jwtSecret = r.raw('JWT_SECRET') !== undefined || r.problems.length === 0 ? resolveJwtSecret(r, dataDir) : Buffer.alloc(0);

  if (r.problems.length > 0) throw new ConfigError(r.problems);

  return {
    environment,
    logLevel,
    logFormat,
    metrics: { host: metricsHost, port: metricsPort },
    demoEnabled: environment !== 'production',
    http: { host: httpHost, port: httpPort, trustProxy },
    database: { url: databaseUrl, poolMax },
    startupWaitSeconds,
    dataDir,
    broker: {
      internalUrl,
      internalUsername,
      internalPassword,
      mtlsUrl,
      websocketUrl,
      publicHost,
      publicPort,
      publicWebsocketUrl,
      shareGroup,
      requests: { clientId: requestsClientId, sessionExpirySeconds, inFlight: requestsInFlight, takeoverSeconds },
      inboundInFlight,
      admin: brokerAdmin,
      dynsecAdmin: dynsecUser !== undefined && dynsecPassword !== undefined ? { username: dynsecUser, password: dynsecPassword } : null,
      crlFile,
      pidFile,
    },
    auth: { jwtSecret, tokenTtlSeconds, accessTokenTtlSeconds, refreshTokenTtlSeconds, scryptN },
    pki: { caDir, certValidityDays, renewWindowDays },
    credentialsKeyGraceSeconds,
    deviceTokens: { rotation: deviceTokenRotation },
    registrationCodeTtlSeconds: 15 * 60,
    workers,
    vault: { dir: vaultDir, ...vaultPublic, limits: vaultLimits, sweepIntervalSeconds: vaultSweepIntervalSeconds },
    docs: { dir: docsDir },
    rateLimits: {
      perPlayerPerMinute, perUserPerMinute, provisionPerAddressPerMinute,
      signupPerAddressPerMinute, loginPerEmailPerAddressPerMinute, loginPerAddressPerMinute, passwordChangePerUserPerMinute,
      registerPlayerPerUserPerMinute, bootstrapPerUserPerMinute,
      tokenRotatePerPlayerPerMinute, renewCertPerPlayerPerMinute, windowSeconds, windowOriginSeconds,
    },
  };
}
