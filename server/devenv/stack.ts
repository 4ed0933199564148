// The whole system on free ports in a temporary folder — a real Mosquitto (three listeners), a real
// PostgreSQL, the dev CA (services.ts), and one or more server instances (server/src/main.ts) —
// plus registering a user through the generated REST client. Used by the server's tests
// (server/test/support/stack.ts adds player helpers) and by `make conformance`
// (conformance/src/cli/local.ts). TEST_LOG_LEVEL sets the servers' log level (default silent).
// Each server gets its own free METRICS_PORT (its /metrics at ServerHandle.metricsUrl) unless the
// environment or the overrides name one (0: metrics off).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createClient, type Client } from '@makapix/contract/openapi/client';
import { runAdmin } from '../src/admin/roles.js';
import { loadConfig, type Config } from '../src/config.js';
import { startServer, type ServerHandle, type StartOptions } from '../src/main.js';
import { freePort } from './free-port.js';
import { serverEnv } from './server-env.js';
import { startServices, type Services } from './services.js';

export interface Stack {
  services: Services;
  servers: ServerHandle[];
  server: ServerHandle;
  api: Client;
  config: Config;
  /** Environment a server instance was configured from (add overrides for a second instance). */
  env: Record<string, string>;
  addServer(overrides?: Record<string, string>, opts?: StartOptions): Promise<ServerHandle>;
  stop(): Promise<void>;
}

export async function startStack(opts: { env?: Record<string, string>; workers?: boolean } = {}): Promise<Stack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'makapix-stack-'));
  // the temp dir is 0700: postgres gets through with an ACL on it (nothing to report for a temp dir)
  const services = await startServices({ dataDir, forTests: true, notice: () => {} });
  const env: Record<string, string> = {
    ...serverEnv(services),
    MAKAPIX_ENV: 'development',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    DATABASE_POOL_MAX: '8',
    JWT_SECRET: 'test-secret-test-secret-test-secret-0123456789',
    SCRYPT_N: '1024',
    // tests register many users and players from one address within a minute; the limits
    // themselves are tested in server/test/rest/throttling.test.ts
    RATE_LIMIT_SIGNUP_PER_MINUTE: '100000',
    RATE_LIMIT_LOGIN_PER_MINUTE: '100000',
    RATE_LIMIT_LOGIN_PER_ADDRESS_PER_MINUTE: '100000',
    RATE_LIMIT_REGISTER_PLAYER_PER_MINUTE: '100000',
    RATE_LIMIT_BOOTSTRAP_PER_MINUTE: '100000',
    ...opts.env,
  };
  const servers: ServerHandle[] = [];
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const addServer = async (overrides: Record<string, string> = {}, sopts: StartOptions = {}) => {
    const metricsPort = overrides.METRICS_PORT ?? opts.env?.METRICS_PORT ?? String(await freePort());
    const s = await startServer(loadConfig({ ...env, ...overrides, METRICS_PORT: metricsPort }), { log, workers: opts.workers, ...sopts });
    servers.push(s);
    return s;
  };
  let first: ServerHandle;
  try {
    first = await addServer();
  } catch (err) {
    await services.stop();
    throw err;
  }
  return {
    services, servers, server: first, env,
    api: createClient(first.url),
    config: first.ctx.config,
    addServer,
    stop: async () => {
      for (const s of servers.reverse()) await s.stop().catch(() => {});
      await services.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

let counter = 0;
/** A unique handle for this test process. */
export function uniqueHandle(prefix = 'user'): string {
  counter += 1;
  return `${prefix}${process.pid}x${counter}`;
}

export interface TestUser {
  user_id: string;
  sqid: string;
  handle: string;
  token: string;
}

/** The password of every account registerUser creates. */
export const TEST_PASSWORD = 'correct horse battery';

export async function registerUser(api: Client, handle = uniqueHandle()): Promise<TestUser> {
  const r = await api.authRegister({ body: { handle, email: `${handle}@example.test`, password: TEST_PASSWORD } });
  if (r.status !== 201) throw new Error(`authRegister ${handle}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/**
 * A new account made a moderator the only way there is: the operator's command on an existing
 * account (server/src/admin/roles.ts, as `make admin ARGS="grant moderator <email>"` runs it), here
 * against the stack's database. Its email is `<handle>@example.test`, its password TEST_PASSWORD.
 */
export async function registerModerator(stack: Pick<Stack, 'api' | 'server'>, handle = uniqueHandle('mod')): Promise<TestUser & { email: string }> {
  const user = await registerUser(stack.api, handle);
  const email = `${handle}@example.test`;
  await runAdmin(['grant', 'moderator', email, '--by', 'test harness'], { sql: stack.server.ctx.sql, operator: 'test harness', print: () => {} });
  return { ...user, email };
}
