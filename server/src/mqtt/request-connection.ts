// The request pipeline's own broker connection. Its client id is fixed per instance
// (MQTT_CLIENT_ID) and its session persistent (clean start false, MQTT_SESSION_EXPIRY_SECONDS):
// while the instance is away (restarting, or killed), the broker keeps queueing its share of the
// shared subscription's requests in its session, and sends them when it connects again. A request
// is acknowledged (PUBACK) only once its answer is published (manualAcks), so one received but
// not answered before a crash is sent again too; its answer, if already stored, is replayed.
//
// The connection is made only after the subscription's handler is registered: a resumed session
// delivers its queued requests right after CONNACK.
import mqtt, { type MqttClient } from 'mqtt';
import { manualAcks, MessageRouter, type ManualAcks } from '#runtime/v1';
import { limits } from '@makapix/contract/asyncapi/limits';
import type { AppContext } from '../context.js';

export interface RequestConnection {
  client: MqttClient;
  router: MessageRouter;
  acks: ManualAcks;
  /** True when the session survives this connection (a session expiry above 0). */
  persistent: boolean;
  /** Connects (call once the subscription is registered on the router). */
  open(): void;
  /** Ends the connection; a persistent session stays with the broker for its expiry. */
  close(): Promise<void>;
}

/** How long a graceful disconnect may take before the connection is dropped. */
const END_GRACE_MS = 2_000;

/**
 * This instance's request connection; with `takeOver`, a connection under another (silent)
 * instance's client id that resumes its session once and ends it on close (session expiry 0).
 */
export function createRequestConnection(ctx: AppContext, takeOver?: { clientId: string }): RequestConnection {
  const { broker } = ctx.config;
  const { inFlight } = broker.requests;
  const clientId = takeOver?.clientId ?? broker.requests.clientId;
  const sessionExpirySeconds = takeOver ? 0 : broker.requests.sessionExpirySeconds;
  const persistent = sessionExpirySeconds > 0;
  const client = mqtt.connect(broker.internalUrl, {
    protocolVersion: 5,
    clientId,
    username: broker.internalUsername,
    password: broker.internalPassword,
    clean: !persistent && !takeOver,
    // Receive Maximum bounds the requests handed over before their answers (PUBACK waits for the answer)
    properties: persistent ? { sessionExpiryInterval: sessionExpirySeconds, receiveMaximum: inFlight } : { receiveMaximum: inFlight },
    // a take-over connection ends when the instance comes back (the broker hands it the session)
    reconnectPeriod: takeOver ? 0 : 1000,
    connectTimeout: 10_000,
    keepalive: 30,
    manualConnect: true,
  });
  const acks = manualAcks(client);
  client.on('error', (err) => ctx.log.warn({ err: err.message, clientId }, 'mqtt request connection error'));
  // small QoS 1 answers: no Nagle delay (a new socket on every reconnect)
  client.on('connect', (connack) => {
    (client.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    ctx.log.info({ clientId, sessionPresent: connack.sessionPresent, sessionExpirySeconds }, 'mqtt request connection up');
  });
  const router = new MessageRouter(client, {
    maxPayloadBytes: limits.maxPayloadBytes,
    onError: (e) => {
      ctx.metrics.mqttDropped(e.reason);
      ctx.log.warn({ topic: e.topic, reason: e.reason, detail: e.message }, 'inbound MQTT request dropped');
    },
  });
  return {
    client, router, acks, persistent,
    open: () => {
      client.connect();
    },
    close: async () => {
      if (client.connected) {
        let timer: NodeJS.Timeout | undefined;
        const ended = await Promise.race([
          client.endAsync().then(() => true),
          new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), END_GRACE_MS); }),
        ]).finally(() => clearTimeout(timer));
        if (ended) return;
      }
      await client.endAsync(true);
    },
  };
}
