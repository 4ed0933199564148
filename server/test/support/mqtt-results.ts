// Test support: what the broker answered (refused connects, PUBACK reason codes), shared by the server tests.
import { ErrorWithReasonCode, type MqttClient } from 'mqtt';

/** The error a connect attempt fails with (the test fails if it connects). */
export async function connectError(p: Promise<MqttClient>): Promise<Error & { code?: number | string }> {
  let client: MqttClient;
  try {
    client = await p;
  } catch (err) {
    return err as Error & { code?: number | string };
  }
  client.end(true);
  throw new Error('expected the connection to be refused, but it was accepted');
}

/** Reason code of a QoS 1 publish (0 = accepted; mqtt.js rejects on codes >= 0x80). */
export async function publishReason(c: MqttClient, topic: string, payload: string): Promise<number> {
  try {
    const packet = await c.publishAsync(topic, payload, { qos: 1 });
    return (packet as { reasonCode?: number } | undefined)?.reasonCode ?? 0;
  } catch (err) {
    if (err instanceof ErrorWithReasonCode) return err.code;
    throw err;
  }
}
