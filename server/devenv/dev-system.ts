// The whole system of `make run` on one machine (run.ts is its command line: signals, walkthrough).
// Starts what is not provided from outside — the dev CA, a PostgreSQL cluster and Mosquitto (1883
// internal, 8883 mTLS, 9001 WebSocket) under DATA_DIR — keeps the database and the broker running
// (supervise.ts: restarted with backoff when they die), then starts the server on HTTP_PORT.
// A port that is taken fails the start, naming the process that holds it (never "running" while
// something else answers on our ports). stop() works at any point, also during start(): the server
// first (bounded), then the broker and the database together, all within a deadline.
// Settings (env): DATA_DIR, HTTP_PORT, MQTT_PORT, MQTTS_PORT, MQTT_WS_PORT, PG_PORT, DATABASE_URL (use
// your own PostgreSQL), MQTT_INTERNAL_URL + MQTT_INTERNAL_USERNAME/PASSWORD (use your own broker; then
// also MQTT_MTLS_URL, MQTT_WEBSOCKET_URL and CA_DIR as your broker is set up), plus every server setting.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { loadBrokerPublicHost, loadConfig } from '../src/config.js';
import { startServer, type ServerHandle } from '../src/main.js';
import { startBroker, type Broker, type BrokerPorts } from './broker.js';
import { ensureDevPki } from './pki.js';
import { writeSampleArt } from './sample-art.js';
import { startPostgres, useOrStartPostgres, type DatabaseChoice, type Postgres } from './postgres.js';
import { assertPortFree } from './process-control.js';
import { supervise, type Supervisor } from './supervise.js';

/** A bad setting (exit code 2 in run.ts). */
export class DevSettingError extends Error {
  override readonly name = 'DevSettingError';
}

/** start() was interrupted by stop(). */
export class DevSystemStopped extends Error {
  override readonly name = 'DevSystemStopped';
  constructor() { super('stopped while starting'); }
}

export interface DevSystemInfo {
  api: string;
  /** The server's Prometheus endpoint, or null with METRICS_PORT=0. */
  metrics: string | null;
  /** The vault's base URL (downloads) and the sample pixel-art file the walkthrough uploads. */
  vault: string;
  art: string;
  dataDir: string;
  database: string;
  /** null when MQTT_INTERNAL_URL names your own broker. */
  broker: { urls: Broker['urls']; ports: BrokerPorts } | null;
  ca: string;
}

/** Defaults of `make run`. */
export const DEV_PORTS = { http: 8000, mqtt: 1883, mqtts: 8883, mqttWs: 9001, postgres: 55432 } as const;

const SERVER_STOP_MS = 3_000;
const CHILD_STOP_MS = 4_000;

function port(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > 65535) {
    throw new DevSettingError(`${name} must be a port number 1..65535 (got ${JSON.stringify(v)})`);
  }
  return Number(v);
}

function withTimeout(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(() => true, () => true),
    new Promise<boolean>((r) => { timer = setTimeout(() => r(false), ms); }),
  ]).finally(() => clearTimeout(timer));
}

export class DevSystem {
  readonly dataDir: string;
  database: DatabaseChoice | null = null;
  postgres: Supervisor<Postgres> | null = null;
  broker: Supervisor<Broker> | null = null;
  server: ServerHandle | null = null;
  private stopping: Promise<void> | null = null;

  constructor(private readonly env: NodeJS.ProcessEnv, private readonly log: Logger) {
    this.dataDir = resolve(env.DATA_DIR ?? '.data');
  }

  get isStopping(): boolean {
    return this.stopping !== null;
  }

  /** Starts everything; throws DevSettingError for a bad setting, DevSystemStopped when stop() came first. */
  async start(): Promise<DevSystemInfo> {
    const { env, log, dataDir } = this;
    const ports = {
      http: port(env, 'HTTP_PORT', DEV_PORTS.http),
      mqtt: port(env, 'MQTT_PORT', DEV_PORTS.mqtt),
      mqtts: port(env, 'MQTTS_PORT', DEV_PORTS.mqtts),
      mqttWs: port(env, 'MQTT_WS_PORT', DEV_PORTS.mqttWs),
      postgres: port(env, 'PG_PORT', DEV_PORTS.postgres),
    };
    const externalBroker = !!env.MQTT_INTERNAL_URL;
    mkdirSync(dataDir, { recursive: true });
    const step = () => { if (this.stopping) throw new DevSystemStopped(); };
    // What a step started after stop() began is stopped here (stop() did not know it yet).
    const keep = async <T extends { stop(): Promise<unknown> }>(started: T): Promise<T> => {
      if (this.stopping) {
        await started.stop();
        throw new DevSystemStopped();
      }
      return started;
    };

    await assertPortFree(ports.http, 'the REST API', { hint: 'set HTTP_PORT to another port' });
    // devices verify the broker's name against MQTT_PUBLIC_HOST: the broker certificate must carry it
    const pki = await ensureDevPki(join(dataDir, 'pki'), { publicHosts: [loadBrokerPublicHost(env)] });
    step();

    const pgDir = join(dataDir, 'postgres');
    const pgOptions = { dir: pgDir, port: ports.postgres, portHint: 'set PG_PORT to another port (or DATABASE_URL to your own PostgreSQL)', notice: (m: string) => log.warn(m) };
    const database = this.database = await keep(await useOrStartPostgres(pgOptions, env));
    if (database.postgres) this.postgres = supervise('postgres', database.postgres, () => startPostgres(pgOptions), { log });

    let broker: Broker | null = null;
    if (!externalBroker) {
      const brokerOptions = {
        dir: join(dataDir, 'mosquitto'),
        pki,
        ports: { internal: ports.mqtt, mtls: ports.mqtts, websocket: ports.mqttWs },
        portHint: 'set MQTT_PORT, MQTTS_PORT or MQTT_WS_PORT to other ports',
      };
      broker = await keep(await startBroker(brokerOptions));
      this.broker = supervise('mosquitto', broker, () => startBroker(brokerOptions), { log });
    }

    const serverEnv: Record<string, string | undefined> = {
      ...env,
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
      CA_DIR: env.CA_DIR ?? pki.dir,
      HTTP_PORT: String(ports.http),
      ...(broker
        ? {
            MQTT_INTERNAL_URL: broker.urls.internal,
            MQTT_INTERNAL_USERNAME: broker.serverAccount.username,
            MQTT_INTERNAL_PASSWORD: broker.serverAccount.password,
            MQTT_MTLS_URL: broker.urls.mtls,
            MQTT_WEBSOCKET_URL: broker.urls.websocket,
            MQTT_DYNSEC_ADMIN_USERNAME: broker.dynsecAdmin.username,
            MQTT_DYNSEC_ADMIN_PASSWORD: broker.dynsecAdmin.password,
            BROKER_CRL_FILE: pki.crl,
            BROKER_PID_FILE: broker.files.pid, // rewritten by every (re)start of the broker
          }
        : {}),
    };
    const server = this.server = await keep(await startServer(loadConfig(serverEnv), { log }));
    const art = await writeSampleArt(join(dataDir, 'walkthrough', 'heart.png'));
    return {
      api: server.url.replace('127.0.0.1', 'localhost'),
      metrics: server.metricsUrl,
      vault: server.ctx.vault.publicBase().replace('127.0.0.1', 'localhost'),
      art,
      dataDir,
      database: database.url,
      broker: broker ? { urls: broker.urls, ports: broker.ports } : null,
      ca: join(pki.dir, 'ca.crt'),
    };
  }

  /**
   * Stops what was started: no more restarts, the server (given SERVER_STOP_MS), then the broker
   * and the database together (each SIGKILLed after CHILD_STOP_MS). Idempotent; about 7 s at most.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  /** Last resort (a second Ctrl-C, a missed deadline): SIGKILL the broker, immediate shutdown (SIGQUIT) of PostgreSQL. */
  kill(): void {
    this.broker?.release();
    this.postgres?.release();
    const signal = (pid: number | undefined, sig: NodeJS.Signals) => { if (pid) try { process.kill(pid, sig); } catch { /* gone */ } };
    signal(this.broker?.current.pid, 'SIGKILL');
    signal(this.postgres?.current.pid, 'SIGQUIT');
  }

  private async doStop(): Promise<void> {
    // Supervision ends first: what dies from now on stays dead.
    this.broker?.release();
    this.postgres?.release();
    if (this.server) {
      if (!(await withTimeout(this.server.stop(), SERVER_STOP_MS))) {
        this.log.warn({ timeoutMs: SERVER_STOP_MS }, 'the server did not stop in time; stopping the broker and the database anyway');
      }
    }
    const warn = (what: string) => (err: unknown) => { this.log.warn({ err: (err as Error).message }, `stopping the ${what} failed`); };
    const broker = this.broker ? this.broker.stop(CHILD_STOP_MS) : Promise.resolve();
    const database = this.postgres ? this.postgres.stop(CHILD_STOP_MS) : (this.database?.stop() ?? Promise.resolve());
    await Promise.all([broker.catch(warn('broker')), database.catch(warn('database'))]);
  }
}
