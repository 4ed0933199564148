// Test helpers for the devenv tests: temp dirs, MQTT clients of each kind, message collection.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { ErrorWithReasonCode, ErrorWithSubackPacket, type MqttClient } from 'mqtt';
import type { IssuedCert } from '../../devenv/pki.js';
import type { Broker } from '../../devenv/broker.js';

/** A fresh dir, searchable by others (0711) so the `postgres` user can reach a cluster inside it. */
export function tempDir(prefix = 'makapix-devenv-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(path, 0o711);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

const base = { protocolVersion: 5 as const, reconnectPeriod: 0, connectTimeout: 5_000 };

export function connectServer(broker: Broker, extra: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(broker.urls.internal, { ...base, ...broker.serverAccount, ...extra });
}

export function connectDevice(broker: Broker, cert: IssuedCert, extra: mqtt.IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(broker.urls.mtls, {
    ...base, ca: readFileSync(broker.caCert), cert: cert.certPem, key: cert.keyPem, ...extra,
  });
}

export function connectWeb(broker: Broker, username: string, password: string): Promise<MqttClient> {
  return mqtt.connectAsync(broker.urls.websocket, { ...base, username, password });
}

export { connectError, publishReason } from '../support/mqtt-results.js';

/** Granted QoS or SUBACK reason code for one filter (mqtt.js rejects when every filter is refused). */
export async function subscribeReason(c: MqttClient, filter: string): Promise<number> {
  try {
    const [grant] = await c.subscribeAsync(filter, { qos: 1 });
    return grant!.qos;
  } catch (err) {
    if (err instanceof ErrorWithSubackPacket) return (err.packet.granted as number[])[0]!;
    throw err;
  }
}

export interface Received { topic: string; payload: string }

/** Record every message a client receives; `next(pred)` waits for a matching one. */
export function collect(c: MqttClient): { messages: Received[]; next(pred: (m: Received) => boolean, timeoutMs?: number): Promise<Received> } {
  const messages: Received[] = [];
  const waiters: { pred: (m: Received) => boolean; resolve: (m: Received) => void }[] = [];
  c.on('message', (topic, payload) => {
    const m = { topic, payload: payload.toString() };
    messages.push(m);
    for (const w of [...waiters]) if (w.pred(m)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(m); }
  });
  return {
    messages,
    next(pred, timeoutMs = 3_000) {
      const hit = messages.find(pred);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (m: Received) => { clearTimeout(t); resolve(m); } };
        const t = setTimeout(() => { waiters.splice(waiters.indexOf(w), 1); reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages)}`)); }, timeoutMs);
        waiters.push(w);
      });
    },
  };
}

/** Resolves when the client's connection closes (or rejects after timeoutMs). */
export function closed(c: MqttClient, timeoutMs = 3_000): Promise<void> {
  if (!c.connected) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    c.once('close', () => { clearTimeout(t); resolve(); });
  });
}

export async function endAll(clients: (MqttClient | undefined)[]): Promise<void> {
  await Promise.all(clients.map((c) => c?.endAsync(true).catch(() => {})));
}
