import type { IPublishPacket, MqttClient } from 'mqtt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PayloadValidationError, publish, publishChecked } from '../../runtime/publish.js';
import { TopicParamError } from '../../runtime/topic.js';
import { startBroker, type TestBroker } from '../support/broker.js';
import { connect, KEY, note, pingRequest, until } from './fixtures.js';

let broker: TestBroker;
let pub: MqttClient;
let observer: MqttClient;
const seen: IPublishPacket[] = [];

beforeAll(async () => {
  broker = await startBroker();
  pub = await connect(broker.url);
  observer = await connect(broker.url);
  observer.on('message', (_t, _p, packet) => seen.push(packet));
  await observer.subscribeAsync('test/#', { qos: 1 });
});

afterAll(async () => {
  await pub?.endAsync();
  await observer?.endAsync();
  await broker?.stop();
});

beforeEach(() => {
  seen.length = 0;
});

describe('publish', () => {
  it('publishes valid JSON on the formatted topic with the channel QoS, not retained', async () => {
    await publish(pub, pingRequest, { player_key: KEY, request_id: 'r1' }, { request_id: 'r1', n: 3 });
    await until(() => seen.length === 1, 3000, 'the message');
    const [packet] = seen;
    expect(packet.topic).toBe(`test/player/${KEY}/request/r1`);
    expect(JSON.parse(packet.payload.toString())).toEqual({ request_id: 'r1', n: 3 });
    expect(packet.qos).toBe(1);
    expect(packet.retain).toBe(false);
  });

  it('refuses an invalid payload with PayloadValidationError naming the field, and publishes nothing', async () => {
    const bad = { request_id: 'r2', n: 11 };
    const err = await publish(pub, pingRequest, { player_key: KEY, request_id: 'r2' }, bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadValidationError);
    expect((err as PayloadValidationError).issues).toEqual([{ pointer: '/n', message: 'must be <= 10' }]);
    expect((err as PayloadValidationError).message).toMatch(/pingRequest.*n: must be <= 10/);
    await expect(publish(pub, note, { post_id: 1 }, { post_id: 1 } as never)).rejects.toThrow(/title: is required/);
    // A marker sent afterwards on the same connection arrives; nothing came before it.
    await publish(pub, note, { post_id: 99 }, { post_id: 99, title: 'marker' });
    await until(() => seen.length >= 1, 3000, 'the marker');
    expect(seen.map((p) => p.topic)).toEqual(['test/note/99']);
  });

  it('refuses a bad topic parameter and publishes nothing', async () => {
    await expect(publish(pub, pingRequest, { player_key: KEY, request_id: 'a/b' }, { request_id: 'a/b', n: 1 })).rejects.toBeInstanceOf(TopicParamError);
    await expect(publish(pub, note, { post_id: 1.5 }, { post_id: 1, title: 't' })).rejects.toThrow(/safe integer/);
    await publish(pub, note, { post_id: 98 }, { post_id: 98, title: 'marker' });
    await until(() => seen.length >= 1, 3000, 'the marker');
    expect(seen.map((p) => p.topic)).toEqual(['test/note/98']);
  });

  it('passes MQTT 5 properties through', async () => {
    await publish(pub, note, { post_id: 5 }, { post_id: 5, title: 't' }, { properties: { userProperties: { trace: 'abc' }, contentType: 'application/json' } });
    await until(() => seen.length === 1, 3000, 'the message');
    expect(seen[0].properties?.userProperties).toEqual({ trace: 'abc' });
    expect(seen[0].properties?.contentType).toBe('application/json');
  });

  it('publishChecked sends what the channel validator marked as checked, and the validator marks nothing invalid', async () => {
    expect(pingRequest.message.checked({ request_id: 'r3', n: 11 })).toBeUndefined();
    const ok = pingRequest.message.checked({ request_id: 'r3', n: 4 });
    expect(ok).toEqual({ request_id: 'r3', n: 4 });
    await publishChecked(pub, pingRequest, { player_key: KEY, request_id: 'r3' }, ok!);
    await until(() => seen.length === 1, 3000, 'the message');
    expect(seen[0].topic).toBe(`test/player/${KEY}/request/r3`);
    expect(JSON.parse(seen[0].payload.toString())).toEqual({ request_id: 'r3', n: 4 });
    // topic parameters are still checked
    await expect(publishChecked(pub, pingRequest, { player_key: KEY, request_id: 'a/b' }, ok!)).rejects.toBeInstanceOf(TopicParamError);
  });
});
