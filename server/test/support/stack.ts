// Test support: the whole system (server/devenv/stack.ts: Mosquitto, PostgreSQL, the dev CA and
// server instances on free ports) plus small helpers that act as users and players through the
// generated REST client and mqtt.js.
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import type { Client } from '@makapix/contract/openapi/client';
import type { Stack, TestUser } from '../../devenv/stack.js';

export { registerModerator, registerUser, startStack, TEST_PASSWORD, uniqueHandle, type Stack, type TestUser } from '../../devenv/stack.js';

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
