// Ends an mqtt.js client without hanging: a client whose connection is already gone (kicked,
// dropped) never completes a graceful end, so it is forced, and any end is bounded in time.
import type { MqttClient } from 'mqtt';
import { settleWithin } from './wait.js';

export async function closeClient(client: MqttClient, timeoutMs = 2000): Promise<void> {
  const force = !client.connected;
  await settleWithin(client.endAsync(force), timeoutMs);
  if (!client.disconnected) client.end(true);
}
