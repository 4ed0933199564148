// Ends an mqtt.js client without hanging: a client whose connection is already gone (kicked,
// dropped) never completes a graceful end, so it is forced, and any end is bounded in time.
import type { MqttClient } from 'mqtt';

export async function closeClient(client: MqttClient, timeoutMs = 2000): Promise<void> {
  const force = !client.connected;
  await Promise.race([
    client.endAsync(force).catch(() => undefined),
    new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
  ]);
  if (!client.disconnected) client.end(true);
}
