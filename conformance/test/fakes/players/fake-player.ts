// A small player built on the runtime and the generated code: mTLS with its certificate, a last
// will, subscriptions before its first request, a status at once and then every heartbeatMs,
// show_artwork reported in the next status, one query_posts after connecting. Each broken fake in
// this folder turns one of these off.
import mqtt, { type MqttClient } from 'mqtt';
import { MessageRouter } from '#runtime/v1';
import { PlayerCommandMessageValidator, playerCommandTopic, playerRequestTopic, playerResponseTopic, playerStatusTopic } from '@makapix/contract/asyncapi/channels';
import { publishPlayerStatus } from '@makapix/contract/asyncapi/operations';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import type { PlayerStatus } from '@makapix/contract/asyncapi/schemas';
import { newRequestId } from '../../../src/examples/substitute.js';
import { closeClient } from '../../../src/run/close-client.js';
import { settleWithin } from '../../../src/run/wait.js';

export interface PlayerFlaws {
  /** Send statuses every heartbeatMs (false: only the one on connect). */
  heartbeat: boolean;
  /** Apply show_artwork to current_post_id and report it. */
  executeCommands: boolean;
  /**
   * Subscribe to response/# before the first request (false: not before its answer, i.e. never
   * during a run: a subscription after a delay would race the suite's answer).
   */
  subscribeFirst: boolean;
  /** Set the last will. */
  will: boolean;
  /** Send a valid query_posts (false: limit 500). */
  validRequests: boolean;
  /** Put its own key in status payloads (false: another key). */
  ownKeyInStatus: boolean;
}

export const noFlaws: PlayerFlaws = { heartbeat: true, executeCommands: true, subscribeFirst: true, will: true, validRequests: true, ownKeyInStatus: true };

export interface FakePlayerCredentials {
  player_key: string;
  ca_pem: string;
  cert_pem: string;
  key_pem: string;
}

export interface FakePlayer {
  stop(): Promise<void>;
}

export async function startFakePlayer(o: { brokerUrl: string; creds: FakePlayerCredentials; heartbeatMs: number; flaws?: Partial<PlayerFlaws> }): Promise<FakePlayer> {
  const f: PlayerFlaws = { ...noFlaws, ...o.flaws };
  const key = o.creds.player_key;
  const statusTopic = playerStatusTopic.format({ player_key: key });
  const client: MqttClient = await mqtt.connectAsync(o.brokerUrl, {
    protocolVersion: 5, clientId: `p3a-${key}`, ca: o.creds.ca_pem, cert: o.creds.cert_pem, key: o.creds.key_pem,
    rejectUnauthorized: true, reconnectPeriod: 0, keepalive: 60, connectTimeout: 5000,
    ...(f.will ? { will: { topic: statusTopic, payload: Buffer.from(JSON.stringify({ player_key: key, status: 'offline' })), qos: 1 as const, retain: false } } : {}),
  });
  const router = new MessageRouter(client, { onError: () => undefined });
  // A QoS 1 publish in flight when the connection goes (the suite takes the session over for its
  // last-will case, possibly while this player is still starting) never completes without a
  // reconnect: startup steps end with the connection instead.
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  const untilClosed = (p: Promise<unknown>) => Promise.race([p.then(() => undefined), closed]);
  let current: number | null = null;
  const status = async () => {
    const payload: PlayerStatus = { player_key: f.ownKeyInStatus ? key : '00000000-0000-4000-8000-000000000000', status: 'online', current_post_id: current, firmware_version: 'fake-1.0', timestamp: new Date().toISOString() };
    if (client.connected) await untilClosed(publishPlayerStatus(client, { player_key: key }, payload)).catch(() => undefined);
  };
  const subscribeResponses = () => router.subscribeRaw(playerResponseTopic.filterRest({ player_key: key }), () => undefined, { qos: 1 });
  const subscribeCommands = async () => {
    await router.subscribeRaw(playerCommandTopic.format({ player_key: key }), async (_topic, bytes) => {
      let cmd: unknown;
      try {
        cmd = JSON.parse(bytes.toString('utf8'));
      } catch {
        return;
      }
      if (!PlayerCommandMessageValidator.check(cmd) || !f.executeCommands) return;
      if (cmd.command_type === 'show_artwork') current = cmd.payload.post_id;
      await status();
    }, { qos: 1 });
  };
  if (f.subscribeFirst) await untilClosed(subscribeResponses());
  await untilClosed(subscribeCommands());
  await status();
  const requestId = newRequestId();
  const request = { ...messageExamples.QueryPostsRequest.firmware_limit_32, request_id: requestId, player_key: key, ...(f.validRequests ? {} : { limit: 500 }) };
  await untilClosed(client.publishAsync(playerRequestTopic.format({ player_key: key, request_id: requestId }), JSON.stringify(request), { qos: 1 }));
  const timer = f.heartbeat ? setInterval(() => void status(), o.heartbeatMs) : undefined;
  return {
    stop: async () => {
      if (timer) clearInterval(timer);
      // A kicked client may never see an UNSUBACK: bounded, then the client is ended anyway.
      await settleWithin(router.close(), 1000);
      await closeClient(client);
    },
  };
}
