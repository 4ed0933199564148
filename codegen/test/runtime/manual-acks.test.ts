// manualAcks against a real broker: a QoS 1 message is acknowledged only when ack() is called, so
// after the connection dies the broker sends the unacknowledged ones (and only those) again to the
// resumed session; ack() after the connection is gone sends nothing on the new one.
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualAcks, type ManualAcks } from '../../runtime/manual-acks.js';
import { startBroker, type TestBroker } from '../support/broker.js';
import { connect, until } from './fixtures.js';

let broker: TestBroker;
const clients: MqttClient[] = [];

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await broker?.stop();
});

/** A persistent-session client whose acknowledgements are manual; messages collected as they come. */
function consumer(): { client: MqttClient; acks: ManualAcks; got: IPublishPacket[]; connected: Promise<void> } {
  const client = mqtt.connect(broker.url, {
    protocolVersion: 5, clientId: 'manual-acks', clean: false, reconnectPeriod: 0, manualConnect: true,
    properties: { sessionExpiryInterval: 60, receiveMaximum: 10 },
  });
  clients.push(client);
  const acks = manualAcks(client);
  const got: IPublishPacket[] = [];
  client.on('message', (_t, _p, packet) => got.push(packet));
  const connected = new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  client.connect();
  return { client, acks, got, connected };
}

describe('manualAcks', () => {
  it('acknowledges only what ack() was called for: the rest comes again to the resumed session', async () => {
    const first = consumer();
    await first.connected;
    await first.client.subscribeAsync('work/+', { qos: 1 });
    const producer = await connect(broker.url);
    clients.push(producer);
    for (const n of [1, 2, 3]) await producer.publishAsync(`work/${n}`, String(n), { qos: 1 });
    await until(() => first.got.length === 3, 3000, 'three messages');
    expect(first.acks.pending).toBe(3);
    first.acks.ack(first.got[0]!);
    expect(first.acks.pending).toBe(2);
    // a ping round trip: the PUBACK written before it has reached the broker
    await producer.publishAsync('work/barrier', 'b', { qos: 1 });
    await until(() => first.got.length === 4, 3000, 'the barrier');

    // the process dies: the socket goes without a DISCONNECT
    first.client.stream.destroy();
    await until(() => !first.client.connected, 3000, 'the connection to drop');
    first.acks.ack(first.got[1]!); // too late: nothing is sent on another connection

    const second = consumer();
    await second.connected;
    await until(() => second.got.length === 3, 3000, 'the unacknowledged messages again');
    expect(second.got.map((p) => p.topic).sort()).toEqual(['work/2', 'work/3', 'work/barrier']);
    expect(second.got.every((p) => p.dup)).toBe(true);
    for (const p of second.got) second.acks.ack(p);
    expect(second.acks.pending).toBe(0);
  });
});
