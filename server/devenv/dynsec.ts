// Dynamic-security commands over MQTT ($CONTROL/dynamic-security/v1), as the dynsec admin on
// the WebSocket listener (with per_listener_settings the plugin only accepts $CONTROL from
// clients of its own listener). Batch several commands in one call: each round trip over
// the WebSocket listener takes ~100 ms (see notes).
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';

export const DYNSEC_TOPIC = '$CONTROL/dynamic-security/v1';
export const DYNSEC_RESPONSE_TOPIC = `${DYNSEC_TOPIC}/response`;

export type DynsecCommand = { command: string } & Record<string, unknown>;
export interface DynsecResponse { command: string; error?: string; data?: unknown; correlationData?: string }

export async function connectDynsecAdmin(url: string, admin: { username: string; password: string }): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 5, username: admin.username, password: admin.password, clientId: `dynsec-admin-${randomUUID()}`,
    reconnectPeriod: 0,
  });
  await client.subscribeAsync(DYNSEC_RESPONSE_TOPIC, { qos: 1 });
  return client;
}

/**
 * Send `commands` in one message and return the plugin's responses (same order).
 * Throws if any command failed, unless `allowErrors`. The client must be subscribed to
 * DYNSEC_RESPONSE_TOPIC (connectDynsecAdmin does it).
 */
export function dynsecCommands(
  client: MqttClient,
  commands: DynsecCommand[],
  opts: { allowErrors?: boolean; timeoutMs?: number } = {},
): Promise<DynsecResponse[]> {
  const tag = randomUUID();
  const tagged = commands.map((c, i) => ({ ...c, correlationData: `${tag}:${i}` }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error(`dynsec: no response within ${opts.timeoutMs ?? 5000} ms to ${commands.map((c) => c.command).join(', ')}`)); }, opts.timeoutMs ?? 5000);
    const onMessage = (topic: string, payload: Buffer) => {
      if (topic !== DYNSEC_RESPONSE_TOPIC) return;
      let body: { responses?: DynsecResponse[] };
      try { body = JSON.parse(payload.toString()) as { responses?: DynsecResponse[] }; } catch { return; }
      const responses = body.responses ?? [];
      if (!responses.some((r) => r.correlationData?.startsWith(`${tag}:`))) return;
      cleanup();
      const failed = responses.filter((r) => r.error);
      if (failed.length && !opts.allowErrors) {
        reject(new Error(`dynsec: ${failed.map((r) => `${r.command}: ${r.error}`).join('; ')}`));
      } else {
        resolve(responses);
      }
    };
    const cleanup = () => { clearTimeout(timer); client.off('message', onMessage); };
    client.on('message', onMessage);
    client.publish(DYNSEC_TOPIC, JSON.stringify({ commands: tagged }), { qos: 1 }, (err) => {
      if (err) { cleanup(); reject(err); }
    });
  });
}
