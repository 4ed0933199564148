// The system a chaos run breaks: the real processes of server/devenv — PostgreSQL and Mosquitto
// (startServices, on fixed free ports so that a restart comes back on the same ones) — and N
// server instances, each its own process (the server bundled into one file, server-bundle.ts, so
// that it can be killed with SIGKILL and starts as fast as deployed code), each with its own
// MQTT_CLIENT_ID and HTTP port. Every process is kept
// running the way `make run` keeps PostgreSQL and Mosquitto running (devenv/supervise.ts: when one
// dies it is started again, same dir and ports, after a backoff from 250 ms), so nothing is
// done by hand after a fault. Process ids are known: the faults (faults.ts) signal them.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker, type Broker } from '../../devenv/broker.js';
import { freePorts } from '../../devenv/free-port.js';
import { startPostgres, type Postgres } from '../../devenv/postgres.js';
import { isAlive, stopPid } from '../../devenv/process-control.js';
import { serverEnv } from '../../devenv/server-env.js';
import { startServices, type Services } from '../../devenv/services.js';
import { supervise, type Supervisor, type SupervisorLog } from '../../devenv/supervise.js';
import { waitForPort } from '../../devenv/wait-port.js';
import { buildServerBundle } from './server-bundle.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SERVER_START_MS = 60_000;
let bundle: Promise<string> | null = null;

/** One server instance's process. */
export interface ServerProcess {
  pid: number;
  url: string;
  clientId: string;
  stop(timeoutMs?: number): Promise<void>;
}

export interface ChaosSystemOptions {
  /** Server instances (each its own process and MQTT_CLIENT_ID). */
  instances: number;
  /** MQTT_SESSION_EXPIRY_SECONDS of the instances (default: the server's default). */
  sessionExpirySeconds?: number;
  /** More server settings. */
  env?: Record<string, string>;
  log: SupervisorLog;
}

export class ChaosSystem {
  private constructor(
    readonly dataDir: string,
    readonly services: Services,
    readonly postgres: Supervisor<Postgres>,
    readonly broker: Supervisor<Broker>,
    readonly servers: Supervisor<ServerProcess>[],
  ) {}

  /** The REST API of the first instance that is up. */
  get apiUrl(): string {
    return this.servers[0]!.current.url;
  }

  static async start(o: ChaosSystemOptions): Promise<ChaosSystem> {
    const dataDir = mkdtempSync(join(tmpdir(), 'makapix-chaos-'));
    const [internal, mtls, websocket, pgPort, ...httpPorts] = await freePorts(4 + o.instances);
    const services = await startServices({ dataDir, forTests: true, ports: { internal, mtls, websocket, postgres: pgPort }, notice: () => {} });
    const pg = services.database.postgres;
    if (!pg) throw new Error('chaos: needs its own PostgreSQL (unset DATABASE_URL)');
    const restart = { log: o.log, pollMs: 100 };
    const postgres = supervise('postgres', pg, () => startPostgres({ dir: pg.dir, port: pg.port, forTests: true, notice: () => {} }), restart);
    const brokerOptions = { dir: services.broker.dir, pki: services.pki, ports: services.broker.ports };
    const broker = supervise('mosquitto', services.broker, () => startBroker(brokerOptions), restart);
    const env: Record<string, string> = {
      ...serverEnv(services),
      MAKAPIX_ENV: 'development',
      HTTP_HOST: '127.0.0.1',
      JWT_SECRET: 'chaos-secret-chaos-secret-chaos-secret-0123456789',
      SCRYPT_N: '1024',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      STARTUP_WAIT_SECONDS: '120',
      RATE_LIMIT_REGISTER_PLAYER_PER_MINUTE: '100000',
      RATE_LIMIT_PROVISION_PER_MINUTE: '100000',
      ...(o.sessionExpirySeconds === undefined ? {} : { MQTT_SESSION_EXPIRY_SECONDS: String(o.sessionExpirySeconds) }),
      ...o.env,
    };
    const servers: Supervisor<ServerProcess>[] = [];
    try {
      const entry = await (bundle ??= buildServerBundle());
      for (let i = 0; i < o.instances; i++) {
        const start = () => startServerProcess(entry, dataDir, i, { ...env, HTTP_PORT: String(httpPorts[i]), MQTT_CLIENT_ID: `makapix-chaos-${i}` });
        servers.push(supervise(`server-${i}`, await start(), start, restart));
      }
    } catch (err) {
      for (const s of servers) await s.stop().catch(() => {});
      await Promise.all([broker.stop(), postgres.stop()]);
      throw err;
    }
    return new ChaosSystem(dataDir, services, postgres, broker, servers);
  }

  async stop(): Promise<void> {
    for (const s of this.servers) await s.stop(5_000).catch(() => {});
    await Promise.all([this.broker.stop(5_000).catch(() => {}), this.postgres.stop(5_000).catch(() => {})]);
    // CHAOS_KEEP_DATA=1 keeps the run's folder (server logs under server-logs/)
    if (process.env.CHAOS_KEEP_DATA === '1') console.error(`chaos: kept ${this.dataDir}`);
    else rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** Starts instance `i` as a child process; resolves once it listens (it listens after its MQTT workers run). */
async function startServerProcess(entry: string, dataDir: string, i: number, env: Record<string, string>): Promise<ServerProcess> {
  const logDir = join(dataDir, 'server-logs');
  mkdirSync(logDir, { recursive: true });
  const out = openSync(join(logDir, `server-${i}.log`), 'a');
  const child = spawn(process.execPath, [entry], {
    cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', out, out],
  });
  closeSync(out);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`server-${i} did not start`);
  let exited: number | null = null;
  child.once('exit', (code, signal) => { exited = code ?? (signal ? 128 : 1); });
  const port = Number(env.HTTP_PORT);
  try {
    await waitForPort(port, {
      timeoutMs: SERVER_START_MS,
      check: () => { if (exited !== null) throw new Error(`server-${i} exited (${exited}) while starting; see ${logDir}/server-${i}.log`); },
    });
  } catch (err) {
    if (isAlive(pid)) await stopPid(pid, 2_000);
    throw err;
  }
  return {
    pid,
    url: `http://127.0.0.1:${port}`,
    clientId: env.MQTT_CLIENT_ID!,
    stop: async (timeoutMs = 5_000) => { if (isAlive(pid)) await stopPid(pid, timeoutMs); },
  };
}
