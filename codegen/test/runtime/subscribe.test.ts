import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publish } from '../../runtime/publish.js';
import { MessageRouter, SubscribeError, type InboundError, type InboundMessage } from '../../runtime/subscribe.js';
import { startBroker, type TestBroker } from '../support/broker.js';
import { connect, gate, KEY, note, OTHER_KEY, pingRequest, until, type Note, type NoteParams, type Ping, type RequestParams } from './fixtures.js';

let broker: TestBroker;
const clients: MqttClient[] = [];
let pub: MqttClient;

async function client(protocolVersion: 4 | 5 = 5): Promise<MqttClient> {
  const c = await connect(broker.url, { protocolVersion });
  clients.push(c);
  return c;
}

async function router(opts: ConstructorParameters<typeof MessageRouter>[1] = {}, protocolVersion: 4 | 5 = 5): Promise<MessageRouter> {
  return new MessageRouter(await client(protocolVersion), opts);
}

let fences = 0;
/**
 * Waits until a message `pub` publishes now has reached each router. Mosquitto forwards one
 * publisher's messages to a subscriber in the order it received them, so whatever `pub` published
 * before that was going to arrive (a duplicate, a message a filter should have kept out) has arrived
 * by then: the positive control for an absence, instead of a sleep.
 */
async function fence(...routers: MessageRouter[]): Promise<void> {
  const topic = `fence/${++fences}`;
  let seen = 0;
  const offs = await Promise.all(routers.map((r) => r.subscribeRaw(topic, () => void seen++, { qos: 1 })));
  await pub.publishAsync(topic, 'x', { qos: 1 });
  await until(() => seen === routers.length, 10_000, 'the fence message');
  await Promise.all(offs.map((off) => off()));
}

function errors(): { list: InboundError[]; onError: (e: InboundError) => void } {
  const list: InboundError[] = [];
  return { list, onError: (e) => list.push(e) };
}

beforeAll(async () => {
  broker = await startBroker();
  pub = await client();
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.endAsync()));
  await broker?.stop();
});

describe('MessageRouter', () => {
  it('dispatches a typed message with parsed params and unknown fields removed', async () => {
    const r = await router();
    const got: InboundMessage<NoteParams, Note>[] = [];
    await r.subscribe(note, (m) => void got.push(m));
    await pub.publishAsync('test/note/7', JSON.stringify({ post_id: 7, title: 'hi', future_field: { x: 1 } }), { qos: 1 });
    await until(() => got.length === 1);
    expect(got[0].topic).toBe('test/note/7');
    expect(got[0].params).toEqual({ post_id: 7 });
    expect(got[0].payload).toEqual({ post_id: 7, title: 'hi' });
    expect(got[0].packet.qos).toBe(1);
    await r.close();
  });

  it('filters with fixed params and + wildcards', async () => {
    const r = await router();
    const mine: string[] = [];
    const all: string[] = [];
    await r.subscribe(pingRequest, (m) => void mine.push(m.params.request_id), { fixed: { player_key: KEY } });
    await r.subscribe(pingRequest, (m) => void all.push(`${m.params.player_key === KEY ? 'k' : 'o'}:${m.params.request_id}`));
    await publish(pub, pingRequest, { player_key: OTHER_KEY, request_id: 'o1' }, { request_id: 'o1', n: 1 });
    await publish(pub, pingRequest, { player_key: KEY, request_id: 'k1' }, { request_id: 'k1', n: 1 });
    await until(() => all.length === 2 && mine.length === 1);
    await fence(r);
    expect(mine).toEqual(['k1']);
    expect(all.sort()).toEqual(['k:k1', 'o:o1']);
    await r.close();
  });

  it('gives one copy to each of several overlapping subscriptions on one client (incl. #)', async () => {
    const r = await router();
    const typed: number[] = [];
    const raw: string[] = [];
    const rest: string[] = [];
    await r.subscribe(note, (m) => void typed.push(m.params.post_id));
    await r.subscribeRaw('test/#', (topic) => void raw.push(topic));
    await r.subscribeRaw('test/note/#', (topic) => void rest.push(topic));
    await pub.publishAsync('test/note/3', JSON.stringify({ post_id: 3, title: 't' }), { qos: 1 });
    await pub.publishAsync('test/other', 'x', { qos: 1 });
    await until(() => typed.length >= 1 && raw.length >= 2 && rest.length >= 1);
    await fence(r);
    expect(typed).toEqual([3]);
    expect(raw.sort()).toEqual(['test/note/3', 'test/other']);
    expect(rest).toEqual(['test/note/3']);
    await r.close();
  });

  it('splits a $share subscription between instances, each message handled once', async () => {
    const a = await router();
    const b = await router();
    const seenA: string[] = [];
    const seenB: string[] = [];
    const plainOnA: string[] = [];
    await a.subscribe(pingRequest, (m) => void seenA.push(m.params.request_id), { share: 'api' });
    await b.subscribe(pingRequest, (m) => void seenB.push(m.params.request_id), { share: 'api' });
    // A plain subscription next to the shared one on the same client: no cross-delivery.
    await a.subscribe(pingRequest, (m) => void plainOnA.push(m.params.request_id), { fixed: { player_key: OTHER_KEY } });
    for (let i = 0; i < 10; i++) {
      await publish(pub, pingRequest, { player_key: KEY, request_id: `s${i}` }, { request_id: `s${i}`, n: 1 });
    }
    await until(() => seenA.length + seenB.length === 10);
    await fence(a, b);
    expect([...seenA, ...seenB].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `s${i}`).sort());
    expect(seenA.length).toBeGreaterThan(0);
    expect(seenB.length).toBeGreaterThan(0);
    expect(plainOnA).toEqual([]);
    await a.close();
    await b.close();
  });

  it('reports bad JSON, schema failures and bad topics to onError, never calling the handler or throwing', async () => {
    const r = await router();
    const e = errors();
    const got: Ping[] = [];
    await r.subscribe(pingRequest, (m) => void got.push(m.payload), { onError: e.onError });
    await r.subscribe(note, () => void got.push({} as Ping), { onError: e.onError });
    const topic = `test/player/${KEY}/request/q1`;
    await pub.publishAsync(topic, '{"request_id": "q1", n: ', { qos: 1 });
    await pub.publishAsync(topic, JSON.stringify({ request_id: 'q1', n: 99, extra: true }), { qos: 1 });
    await pub.publishAsync('test/player/not-a-uuid/request/q2', JSON.stringify({ request_id: 'q2', n: 1 }), { qos: 1 });
    await pub.publishAsync('test/note/abc', JSON.stringify({ post_id: 1, title: 't' }), { qos: 1 });
    await pub.publishAsync(topic, Buffer.from([0x7b, 0xff, 0x7d]), { qos: 1 });
    await pub.publishAsync(topic, JSON.stringify({ request_id: 'q1', n: 1 }), { qos: 1 });
    await until(() => e.list.length === 5 && got.length === 1);
    const [json, schema, badKey, badInt, badUtf8] = e.list;
    expect(json).toMatchObject({ topic, reason: 'json', channelId: 'pingRequest', params: { player_key: KEY, request_id: 'q1' } });
    expect(json.raw).toBeUndefined();
    expect(schema).toMatchObject({
      topic,
      reason: 'schema',
      message: 'n: must be <= 10',
      issues: [{ pointer: '/n', message: 'must be <= 10' }],
      raw: { request_id: 'q1', n: 99, extra: true },
      params: { player_key: KEY, request_id: 'q1' },
    });
    expect(badKey).toMatchObject({ reason: 'topic', topic: 'test/player/not-a-uuid/request/q2' });
    expect(badKey.message).toMatch(/test\/player\/\{player_key\}\/request\/\{request_id\}/);
    expect(badInt).toMatchObject({ reason: 'topic', channelId: 'note' });
    expect(badUtf8).toMatchObject({ reason: 'json' });
    expect(got).toEqual([{ request_id: 'q1', n: 1 }]);
    await r.close();
  });

  it('drops an oversize payload with reason too_large', async () => {
    const r = await router({ maxPayloadBytes: 64 });
    const e = errors();
    const got: string[] = [];
    await r.subscribe(note, (m) => void got.push(m.payload.title), { onError: e.onError });
    await pub.publishAsync('test/note/1', JSON.stringify({ post_id: 1, title: 'x'.repeat(100) }), { qos: 1 });
    await pub.publishAsync('test/note/1', JSON.stringify({ post_id: 1, title: 'small' }), { qos: 1 });
    await until(() => got.length === 1 && e.list.length === 1);
    expect(e.list[0]).toMatchObject({ reason: 'too_large', topic: 'test/note/1' });
    expect(e.list[0].message).toMatch(/exceeds the limit of 64 bytes/);
    expect(got).toEqual(['small']);
    await r.close();
  });

  it('runs handlers concurrently: a slow handler does not delay the next message', async () => {
    const r = await router();
    const held = gate();
    const events: string[] = [];
    await r.subscribe(note, async (m) => {
      events.push(`start ${m.payload.title}`);
      if (m.payload.title === 'slow') await held.promise;
      events.push(`end ${m.payload.title}`);
    });
    await pub.publishAsync('test/note/1', JSON.stringify({ post_id: 1, title: 'slow' }), { qos: 1 });
    await pub.publishAsync('test/note/2', JSON.stringify({ post_id: 2, title: 'fast' }), { qos: 1 });
    await until(() => events.includes('end fast'));
    expect(events).toEqual(['start slow', 'start fast', 'end fast']);
    held.open();
    await r.idle();
    expect(events.at(-1)).toBe('end slow');
    await r.close();
  });

  it('reports a handler that throws or rejects as reason handler, and keeps going', async () => {
    const e = errors();
    const r = await router({ onError: e.onError }); // router-level reporter
    let calls = 0;
    await r.subscribe(note, (m) => {
      calls++;
      if (m.payload.title === 'sync') throw new Error('boom sync');
      if (m.payload.title === 'async') return Promise.reject(new Error('boom async'));
    });
    for (const title of ['sync', 'async', 'fine']) {
      await pub.publishAsync('test/note/4', JSON.stringify({ post_id: 4, title }), { qos: 1 });
    }
    await until(() => calls === 3 && e.list.length === 2);
    expect(e.list.map((x) => [x.reason, x.message])).toEqual([
      ['handler', 'boom sync'],
      ['handler', 'boom async'],
    ]);
    expect(e.list[0].error).toBeInstanceOf(Error);
    await r.close();
  });

  it('survives an onError that throws', async () => {
    const r = await router({ onError: () => { throw new Error('reporter broke'); } });
    const got: string[] = [];
    await r.subscribe(note, (m) => void got.push(m.payload.title));
    await pub.publishAsync('test/note/5', 'not json', { qos: 1 });
    await pub.publishAsync('test/note/5', JSON.stringify({ post_id: 5, title: 'after' }), { qos: 1 });
    await until(() => got.length === 1);
    expect(got).toEqual(['after']);
    await r.close();
  });

  it('unsubscribe stops delivery; a filter shared by two subscriptions stays until both are gone', async () => {
    const r = await router();
    const one: string[] = [];
    const two: string[] = [];
    const off1 = await r.subscribe(note, (m) => void one.push(m.payload.title));
    const off2 = await r.subscribe(note, (m) => void two.push(m.payload.title));
    await pub.publishAsync('test/note/6', JSON.stringify({ post_id: 6, title: 'a' }), { qos: 1 });
    await until(() => one.length === 1 && two.length === 1);
    await off1();
    await pub.publishAsync('test/note/6', JSON.stringify({ post_id: 6, title: 'b' }), { qos: 1 });
    await until(() => two.length === 2);
    await off2();
    await pub.publishAsync('test/note/6', JSON.stringify({ post_id: 6, title: 'c' }), { qos: 1 });
    await fence(r);
    expect(one).toEqual(['a']);
    expect(two).toEqual(['a', 'b']);
    await r.close();
  });

  it('dispatches by filter on an MQTT 3.1.1 connection', async () => {
    const r = await router({}, 4);
    const got: RequestParams[] = [];
    await r.subscribe(pingRequest, (m) => void got.push(m.params), { fixed: { player_key: KEY } });
    await publish(pub, pingRequest, { player_key: KEY, request_id: 'v4' }, { request_id: 'v4', n: 0 });
    await until(() => got.length === 1);
    expect(got).toEqual([{ player_key: KEY, request_id: 'v4' }]);
    await r.close();
  });

  it('rejects invalid filters and group names before sending anything', async () => {
    const r = await router();
    await expect(r.subscribe(note, () => undefined, { share: 'a/b' })).rejects.toThrow(/\$share group/);
    await expect(r.subscribeRaw('a/#/b', () => undefined)).rejects.toThrow(/invalid MQTT topic filter/);
    await r.close();
  });
});

describe('MessageRouter against a broker that refuses subscriptions', () => {
  let strict: TestBroker;
  let dir: string;

  beforeAll(async () => {
    // Dynamic security with no roles: every SUBSCRIBE is refused (SUBACK 0x87 / 0x80).
    dir = await mkdtemp(join(tmpdir(), 'makapix-dynsec-'));
    await chmod(dir, 0o755);
    const file = join(dir, 'dynsec.json');
    const defaults = { publishClientSend: true, publishClientReceive: true, subscribe: false, unsubscribe: true };
    await writeFile(file, JSON.stringify({ defaultACLAccess: defaults, clients: [], groups: [], roles: [] }), { mode: 0o644 });
    strict = await startBroker({
      extraConfig: ['plugin /usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so', `plugin_opt_config_file ${file}`],
    });
  });

  afterAll(async () => {
    await strict?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it.each([5, 4] as const)('rejects with SubscribeError carrying the SUBACK reason (MQTT %s)', async (protocolVersion) => {
    const c = await connect(strict.url, { protocolVersion });
    try {
      const r = new MessageRouter(c);
      const err = await r.subscribe(note, () => undefined).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SubscribeError);
      const expected = protocolVersion === 5 ? 0x87 : 0x80;
      expect((err as SubscribeError).reasonCode).toBe(expected);
      expect((err as SubscribeError).filter).toBe('test/note/+');
      expect((err as SubscribeError).message).toMatch(
        protocolVersion === 5 ? /subscribe to "test\/note\/\+" was refused by the broker: reason 0x87 \(Not authorized\)/ : /reason 0x80/,
      );
      await r.close();
    } finally {
      await c.endAsync();
    }
  });
});
