// Test support: the whole system on free ports in a temporary folder — a real Mosquitto (three
// listeners), a real PostgreSQL, the dev CA, and one or more server instances — plus small helpers
// that act as users and players through the generated REST client and mqtt.js.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { createClient, type Client } from '../../../generated/openapi/client.js';
import { loadConfig, type Config } from '../../src/config.js';
import { startServer, type ServerHandle, type StartOptions } from '../../src/main.js';
import { serverEnv, startServices, type Services } from '../../devenv/index.js';

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
  const services = await startServices({ dataDir, forTests: true });
  const env: Record<string, string> = {
    ...serverEnv(services),
    MAKAPIX_ENV: 'development',
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: '0',
    DATABASE_POOL_MAX: '8',
    JWT_SECRET: 'test-secret-test-secret-test-secret-0123456789',
    SCRYPT_N: '1024',
    MAKAPIX_MODERATORS: 'moderator',
    // tests register many users and players from one address within a minute; the limits
    // themselves are tested in server/test/rest/throttling.test.ts
    RATE_LIMIT_SIGNUP_PER_MINUTE: '100000',
    RATE_LIMIT_LOGIN_PER_MINUTE: '100000',
    RATE_LIMIT_REGISTER_PLAYER_PER_MINUTE: '100000',
    RATE_LIMIT_BOOTSTRAP_PER_MINUTE: '100000',
    ...opts.env,
  };
  const servers: ServerHandle[] = [];
  const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const addServer = async (overrides: Record<string, string> = {}, sopts: StartOptions = {}) => {
    const s = await startServer(loadConfig({ ...env, ...overrides }), { log, workers: opts.workers, ...sopts });
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

export async function registerUser(api: Client, handle = uniqueHandle()): Promise<TestUser> {
  const r = await api.authRegister({ body: { handle, email: `${handle}@example.test`, password: 'correct horse battery' } });
  if (r.status !== 201) throw new Error(`authRegister ${handle}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export interface TestPlayer {
  id: string;
  player_key: string;
  ca_pem: string;
  cert_pem: string;
  key_pem: string;
}

/** provision -> register (as `owner`) -> credentials, as the protocol document's lifecycle. */
export async function provisionPlayer(api: Client, owner: TestUser, name = 'Test Player'): Promise<TestPlayer> {
  const p = await api.provisionPlayer({ body: { device_model: 'test-device', firmware_version: '1.0.0' } });
  if (p.status !== 201) throw new Error(`provisionPlayer: ${p.status} ${JSON.stringify(p.body)}`);
  const reg = await api.registerPlayer({ body: { registration_code: p.body.registration_code, name } }, { token: owner.token });
  if (reg.status !== 201) throw new Error(`registerPlayer: ${reg.status} ${JSON.stringify(reg.body)}`);
  const c = await api.getPlayerCredentials({ params: { player_key: p.body.player_key } });
  if (c.status !== 200) throw new Error(`getPlayerCredentials: ${c.status} ${JSON.stringify(c.body)}`);
  const { key_pem, ...rest } = c.body;
  if (key_pem === undefined) throw new Error('getPlayerCredentials: no key_pem for a player provisioned without csr_pem');
  return { id: reg.body.id, player_key: p.body.player_key, ...rest, key_pem };
}

/** Connects as the player over mTLS with its issued certificate (MQTT 5 unless told otherwise). */
export async function connectPlayer(stack: Stack, player: Pick<TestPlayer, 'ca_pem' | 'cert_pem' | 'key_pem' | 'player_key'>, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(stack.services.urls.mqttMtls, {
    protocolVersion: 5,
    clientId: `p3a-${player.player_key}`,
    ca: player.ca_pem,
    cert: player.cert_pem,
    key: player.key_pem,
    rejectUnauthorized: true,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    ...opts,
  });
}

/** Connects to the internal listener with the server's account (sees everything under makapix/#). */
export async function connectInternal(stack: Stack): Promise<MqttClient> {
  return mqtt.connectAsync(stack.services.urls.mqttInternal, {
    protocolVersion: 5,
    username: stack.services.serverAccount.username,
    password: stack.services.serverAccount.password,
    reconnectPeriod: 0,
  });
}

export function readCa(stack: Stack): string {
  return readFileSync(stack.services.caCert, 'utf8');
}
