import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { PayloadValidationError, publish } from '../../runtime/publish.js';
import { RequestTimeoutError, Requester, ResponseValidationError, type RequestSpec } from '../../runtime/request.js';
import { MessageRouter, type InboundMessage } from '../../runtime/subscribe.js';
import { startBroker, type TestBroker } from '../support/broker.js';
import { connect, KEY, OTHER_KEY, pingRequest, pingResponse, responseTopic, until, type Ping, type Pong, type RequestParams } from './fixtures.js';

const ping: RequestSpec<Ping, Pong> = { request: pingRequest, response: pingResponse };

let broker: TestBroker;
let serverClient: MqttClient;
let serverRouter: MessageRouter;
let playerClient: MqttClient;
let playerRouter: MessageRouter;
let requester: Requester;
/** Requests the fake server received, in arrival order. */
let inbox: InboundMessage<RequestParams, Ping>[];
let offServer: () => Promise<void>;

beforeAll(async () => {
  broker = await startBroker();
  serverClient = await connect(broker.url);
  serverRouter = new MessageRouter(serverClient);
});

afterAll(async () => {
  await serverRouter?.close();
  await serverClient?.endAsync();
  await broker?.stop();
});

beforeEach(async () => {
  inbox = [];
  offServer = await serverRouter.subscribe(pingRequest, (m) => void inbox.push(m), { share: 'api' });
  playerClient = await connect(broker.url);
  playerRouter = new MessageRouter(playerClient);
  requester = new Requester(playerClient, playerRouter, KEY, { timeoutMs: 2000, responseTopic });
});

afterEach(async () => {
  await requester.close();
  await playerRouter.close();
  await playerClient.endAsync();
  await offServer();
});

function answer(m: InboundMessage<RequestParams, Ping>, body: unknown): Promise<void> {
  return serverClient.publishAsync(responseTopic.format(m.params), JSON.stringify(body), { qos: 1 }).then(() => undefined);
}

describe('Requester', () => {
  it('start() subscribes to response/# for its key before any request', async () => {
    const spy = vi.spyOn(playerClient, 'subscribeAsync');
    await requester.start();
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0][0]).toBe(`test/player/${KEY}/response/#`);
    // request() reuses it: no second SUBSCRIBE.
    const pending = requester.request(ping, { request_id: 'r0', n: 1 });
    await until(() => inbox.length === 1);
    await answer(inbox[0], { request_id: 'r0', success: true, doubled: 2 });
    await expect(pending).resolves.toEqual({ request_id: 'r0', success: true, doubled: 2 });
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('correlates two requests in flight answered out of order', async () => {
    await requester.start();
    const a = requester.request(ping, { request_id: 'ra', n: 1 });
    const b = requester.request(ping, { request_id: 'rb', n: 2 });
    await until(() => inbox.length === 2);
    expect(inbox.map((m) => m.topic).sort()).toEqual([`test/player/${KEY}/request/ra`, `test/player/${KEY}/request/rb`]);
    const byId = new Map(inbox.map((m) => [m.params.request_id, m]));
    await answer(byId.get('rb')!, { request_id: 'rb', success: true, doubled: 4, server_extra: 'ignored' });
    await expect(b).resolves.toEqual({ request_id: 'rb', success: true, doubled: 4 });
    await answer(byId.get('ra')!, { request_id: 'ra', success: true, doubled: 2 });
    await expect(a).resolves.toEqual({ request_id: 'ra', success: true, doubled: 2 });
  });

  it('works without start(): the response filter is subscribed before the request is sent', async () => {
    const r = new Requester(playerClient, playerRouter, KEY, { timeoutMs: 2000 });
    const pending = r.request(ping, { request_id: 'lazy', n: 3 });
    await until(() => inbox.length === 1);
    await answer(inbox[0], { request_id: 'lazy', success: true, doubled: 6 });
    await expect(pending).resolves.toMatchObject({ doubled: 6 });
    await r.close();
  });

  it('rejects with RequestTimeoutError when nobody answers, and ignores the late answer', async () => {
    const started = Date.now();
    const err = await requester.request(ping, { request_id: 'slow', n: 1 }, { timeoutMs: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestTimeoutError);
    expect((err as RequestTimeoutError).requestId).toBe('slow');
    expect((err as Error).message).toBe('no response to request slow within 150 ms');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await answer(inbox[0], { request_id: 'slow', success: true, doubled: 2 });
    // The late answer is dropped without a throw: a request after it still gets its own answer (the
    // fake server's answers arrive in the order it sent them, so the late one was handled first).
    const next = requester.request(ping, { request_id: 'after', n: 2 });
    await until(() => inbox.length === 2);
    await answer(inbox[1], { request_id: 'after', success: true, doubled: 4 });
    await expect(next).resolves.toEqual({ request_id: 'after', success: true, doubled: 4 });
  });

  it('rejects with ResponseValidationError naming the field when the response is invalid', async () => {
    const outcome = requester.request(ping, { request_id: 'bad', n: 1 }).catch((e: unknown) => e);
    await until(() => inbox.length === 1);
    await answer(inbox[0], { request_id: 'bad', success: 'yes' });
    const err = await outcome;
    expect(err).toBeInstanceOf(ResponseValidationError);
    const rve = err as ResponseValidationError;
    expect(rve.reason).toBe('schema');
    expect(rve.issues).toEqual([
      { pointer: '/doubled', message: 'is required' },
      { pointer: '/success', message: 'must be boolean' },
    ]);
    expect(rve.message).toBe('invalid response to request bad: doubled: is required; success: must be boolean');
    expect(rve.raw).toEqual({ request_id: 'bad', success: 'yes' });
  });

  it('rejects with ResponseValidationError when the response is not JSON', async () => {
    const outcome = requester.request(ping, { request_id: 'nojson', n: 1 }).catch((e: unknown) => e);
    await until(() => inbox.length === 1);
    await serverClient.publishAsync(responseTopic.format(inbox[0].params), 'oops', { qos: 1 });
    expect(await outcome).toMatchObject({ name: 'ResponseValidationError', reason: 'json' });
  });

  it('refuses an invalid request payload before publishing it', async () => {
    await expect(requester.request(ping, { request_id: 'inv', n: 42 })).rejects.toBeInstanceOf(PayloadValidationError);
    // The next request goes through; the invalid one never reached the server.
    const pending = requester.request(ping, { request_id: 'next', n: 1 });
    await until(() => inbox.length >= 1);
    // had the invalid one been published (before 'next', by the same client), it would have arrived first
    expect(inbox.map((m) => m.params.request_id)).toEqual(['next']);
    await answer(inbox[0], { request_id: 'next', success: true, doubled: 2 });
    await pending;
  });

  it("does not take another player's response", async () => {
    const pending = requester.request(ping, { request_id: 'same', n: 1 }, { timeoutMs: 300 });
    await until(() => inbox.length === 1);
    await publish(serverClient, pingResponse, { player_key: OTHER_KEY, request_id: 'same' }, { request_id: 'same', success: true, doubled: 0 });
    await expect(pending).rejects.toBeInstanceOf(RequestTimeoutError);
  });

  it('refuses a second request with the same request_id while the first waits', async () => {
    const first = requester.request(ping, { request_id: 'dup', n: 1 }, { timeoutMs: 300 });
    await expect(requester.request(ping, { request_id: 'dup', n: 1 })).rejects.toThrow(/already waiting/);
    await expect(first).rejects.toBeInstanceOf(RequestTimeoutError);
  });

  it('close() rejects the requests still waiting', async () => {
    const outcome = requester.request(ping, { request_id: 'closing', n: 1 }).catch((e: unknown) => e);
    await until(() => inbox.length === 1);
    await requester.close();
    expect(String(await outcome)).toMatch(/closed before the response to request closing/);
    await expect(requester.request(ping, { request_id: 'after', n: 1 })).rejects.toThrow(/closed/);
  });
});
