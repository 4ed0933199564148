// The runtime's request server against a real broker, with test-only channels: every check of the
// documented order answers the spec's error, hooks run in order, and an answer is checked against
// its own operation's reply schema (another operation's reply or an undocumented code is a fault).
import type { MqttClient } from 'mqtt';
import { Type, type Static } from 'typebox';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ChannelDef } from '../../runtime/channel.js';
import { discriminated } from '../../runtime/discriminated.js';
import type { RequestSpec } from '../../runtime/request.js';
import { RequestFailure, serveRequests, type ErrorAnswer, type Refusal, type ServedRequests } from '../../runtime/serve-requests.js';
import { MessageRouter } from '../../runtime/subscribe.js';
import { compileValidator } from '../../runtime/validator.js';
import { startBroker, type TestBroker } from '../support/broker.js';
import { topicTemplate } from '../../runtime/topic.js';
import { connect, gate, KEY, OTHER_KEY, requestTopic, responseTopic, until, type RequestParams } from './fixtures.js';

const Base = { request_id: Type.String({ minLength: 1 }), player_key: Type.String() };
const Double = Type.Object({ ...Base, request_type: Type.Literal('double'), n: Type.Integer({ minimum: 0, maximum: 10 }) });
const Shout = Type.Object({ ...Base, request_type: Type.Literal('shout'), text: Type.String() });
const Doubled = Type.Object({ request_id: Type.String(), success: Type.Literal(true), doubled: Type.Integer() }, { additionalProperties: false });
const Shouted = Type.Object({ request_id: Type.String(), success: Type.Literal(true), text: Type.String() }, { additionalProperties: false });
const Failed = Type.Object({ request_id: Type.String(), success: Type.Literal(false), error: Type.String({ maxLength: 1000 }), error_code: Type.String() }, { additionalProperties: false });
type Double = Static<typeof Double>;
type Shout = Static<typeof Shout>;

const v = { Double: compileValidator(Double), Shout: compileValidator(Shout), Doubled: compileValidator(Doubled), Shouted: compileValidator(Shouted), Failed: compileValidator(Failed) };
const requestChannel: ChannelDef<RequestParams, unknown> = { id: 'req', topic: requestTopic, qos: 1, retain: false, message: discriminated('request_type', { double: v.Double, shout: v.Shout }) };
const responseChannel: ChannelDef<RequestParams, unknown> = { id: 'res', topic: responseTopic, qos: 1, retain: false, message: compileValidator(Type.Union([Doubled, Shouted, Failed])) };
const spec = (req: ChannelDef<RequestParams, unknown>['message'], ok: ChannelDef<RequestParams, unknown>['message']): RequestSpec<unknown, unknown> => ({
  request: { ...requestChannel, message: req },
  response: { ...responseChannel, message: discriminated('success', { true: ok, false: v.Failed }) },
});
const operations = {
  double: { operationId: 'receiveDouble', spec: spec(v.Double, v.Doubled), errorCodes: ['too_big'] },
  shout: { operationId: 'receiveShout', spec: spec(v.Shout, v.Shouted), errorCodes: [] },
};

interface Session { key: string; requestId: string }

let broker: TestBroker;
let server: MqttClient;
let router: MessageRouter;
let player: MqttClient;
let served: ServedRequests;
const answers = new Map<string, Record<string, unknown>>();
const calls: string[] = [];
let refuseAuth = false;
let refuseAdmit = false;
let stored: Record<string, unknown> | undefined;
const remembered: ErrorAnswer[] = [];
/** observe.published, in order. */
const published: { requestType: string | undefined; outcome: string; seconds: number }[] = [];

beforeAll(async () => {
  broker = await startBroker();
  server = await connect(broker.url);
  router = new MessageRouter(server, { maxPayloadBytes: 4096 });
  served = await serveRequests<Session>({
    client: server,
    router,
    request: requestChannel,
    response: responseChannel,
    tag: 'request_type',
    operations,
    share: 'api',
    maxPayloadBytes: 2048,
    handlers: {
      double: async (req: Double, s: Session) => {
        calls.push(`double:${s.requestId}`);
        if (req.n === 10) throw new RequestFailure(['double'], 'too_big', 'n: 10 is too big');
        if (req.n === 9) throw new RequestFailure(['double'], 'not_documented', 'n: 9');
        if (req.n === 8) return { request_id: req.request_id, success: true, text: 'the reply of shout' };
        if (req.n === 7) throw new Error('database password is hunter2');
        return { request_id: req.request_id, success: true, doubled: req.n * 2 };
      },
      shout: async (req: Shout) => ({ request_id: req.request_id, success: true, text: req.text.toUpperCase() }),
    },
    hooks: {
      authenticate: async (params): Promise<Session | Refusal> => {
        calls.push('authenticate');
        return refuseAuth ? { refuse: 'authentication_failed', message: 'unknown player' } : { key: params.player_key, requestId: params.request_id };
      },
      replay: () => {
        calls.push('replay');
        return stored;
      },
      admit: async () => {
        calls.push('admit');
        return refuseAdmit ? { refuse: 'rate_limit_exceeded', message: 'slow down' } : undefined;
      },
      remember: async (_s, answer) => {
        calls.push('remember');
        remembered.push(answer);
        return answer;
      },
    },
    observe: {
      published: (requestType, outcome, seconds) => void published.push({ requestType, outcome, seconds }),
    },
  });
  player = await connect(broker.url);
  player.on('message', (topic, payload) => {
    const p = responseTopic.parse(topic);
    if (p) answers.set(p.request_id, JSON.parse(payload.toString()) as Record<string, unknown>);
  });
  await player.subscribeAsync(responseTopic.filterRest({ player_key: KEY }), { qos: 1 });
});

afterAll(async () => {
  await served?.stop();
  await router?.close();
  await server?.endAsync();
  await player?.endAsync();
  await broker?.stop();
});

beforeEach(() => {
  calls.length = 0;
  remembered.length = 0;
  refuseAuth = false;
  refuseAdmit = false;
  stored = undefined;
});

let seq = 0;
/** Publishes raw bytes on a request topic of KEY and waits for the answer. */
async function ask(body: unknown, opts: { id?: string; raw?: Buffer | string } = {}): Promise<Record<string, unknown>> {
  const named = (body as { request_id?: unknown } | null)?.request_id;
  const id = opts.id ?? (typeof named === 'string' ? named : `r${++seq}`);
  const payload = opts.raw ?? JSON.stringify(body);
  await player.publishAsync(requestTopic.format({ player_key: KEY, request_id: id }), payload, { qos: 1 });
  await until(() => answers.has(id), 5000, `the answer to ${id}`);
  return answers.get(id)!;
}
const dbl = (n: number, extra: Record<string, unknown> = {}) => ({ request_type: 'double', request_id: `d${++seq}`, player_key: KEY, n, ...extra });

describe('serveRequests', () => {
  it('answers a valid request with its handler, after authenticate, replay and admit in that order', async () => {
    const r = dbl(3);
    expect(await ask(r, { id: r.request_id })).toEqual({ request_id: r.request_id, success: true, doubled: 6 });
    expect(calls).toEqual(['authenticate', 'replay', 'admit', `double:${r.request_id}`]);
  });

  it('answers each failing check with its code, and never calls a hook for the first seven', async () => {
    expect(await ask(null, { raw: Buffer.from([0xff, 0xfe]) })).toMatchObject({ success: false, error_code: 'invalid_request', error: 'payload: not valid UTF-8 JSON' });
    expect(await ask({ request_type: 'triple', request_id: `x${++seq}`, player_key: KEY })).toMatchObject({ error_code: 'unknown_request_type', error: 'request_type: unknown request type triple' });
    expect(await ask(dbl(11))).toMatchObject({ error_code: 'invalid_request', error: 'n: must be <= 10' });
    expect(await ask(dbl(1, { player_key: OTHER_KEY }))).toMatchObject({ error_code: 'authentication_failed' });
    expect(await ask(dbl(1, { request_id: 'another' }), { id: `t${++seq}` })).toMatchObject({ error_code: 'invalid_request', error: 'request_id: does not match the last segment of the request topic' });
    expect(await ask(null, { id: `p${++seq}`, raw: JSON.stringify({ ...dbl(1), pad: 'x'.repeat(2100) }) })).toMatchObject({ error_code: 'invalid_request', error: 'payload: larger than the 2048-byte limit' });
    expect(await ask(null, { id: `p${++seq}`, raw: JSON.stringify({ ...dbl(1), pad: 'x'.repeat(5000) }) })).toMatchObject({ error_code: 'invalid_request', error: 'payload: larger than the 2048-byte limit' });
    expect(calls).toEqual([]);
  });

  it('answers refusals of authenticate and admit, and sends a stored answer again without handling', async () => {
    refuseAuth = true;
    expect(await ask(dbl(1))).toMatchObject({ error_code: 'authentication_failed', error: 'unknown player' });
    expect(calls).toEqual(['authenticate']);
    refuseAuth = false;
    calls.length = 0;
    refuseAdmit = true;
    expect(await ask(dbl(1))).toMatchObject({ error_code: 'rate_limit_exceeded', error: 'slow down' });
    expect(calls).toEqual(['authenticate', 'replay', 'admit']);
    refuseAdmit = false;
    calls.length = 0;
    const r = dbl(2);
    stored = { request_id: r.request_id, success: true, doubled: 100 };
    expect(await ask(r, { id: r.request_id })).toEqual(stored);
    expect(calls).toEqual(['authenticate', 'replay']);
  });

  it('answers a documented failure of the handler, stored through remember', async () => {
    const r = dbl(10);
    expect(await ask(r, { id: r.request_id })).toEqual({ request_id: r.request_id, success: false, error: 'n: 10 is too big', error_code: 'too_big' });
    expect(remembered).toEqual([{ request_id: r.request_id, success: false, error: 'n: 10 is too big', error_code: 'too_big' }]);
  });

  it('answers internal_error, storing nothing and leaking nothing, for an undocumented code, another operation\'s reply, or a throw', async () => {
    for (const n of [9, 8, 7]) {
      const a = await ask(dbl(n));
      expect(a, `n=${n}`).toMatchObject({ success: false, error_code: 'internal_error', error: 'Internal server error' });
    }
    expect(remembered).toEqual([]);
  });

  it('reports each answer once published, with its type, outcome and the seconds since the request arrived', async () => {
    // every earlier answer has been reported (each request of this file has its own id)
    await until(() => published.length === answers.size, 5000, 'the earlier answers reported');
    const before = published.length;
    const started = performance.now();
    await ask(dbl(4));
    await ask(null, { raw: '{' });
    await ask(dbl(10));
    await until(() => published.length === before + 3, 5000, 'three published answers');
    const elapsed = (performance.now() - started) / 1000;
    expect(published.slice(before).map(({ requestType, outcome }) => [requestType, outcome])).toEqual([
      ['double', 'success'], [undefined, 'invalid_request'], ['double', 'too_big'],
    ]);
    for (const p of published.slice(before)) {
      expect(p.seconds).toBeGreaterThan(0);
      expect(p.seconds).toBeLessThanOrEqual(elapsed);
    }
  });

  it('refuses to start without a handler for every operation', async () => {
    await expect(serveRequests<Session>({
      client: server, router, request: requestChannel, response: responseChannel, tag: 'request_type', operations,
      maxPayloadBytes: 2048, handlers: { double: async () => ({}) },
      hooks: { authenticate: async () => ({ key: '', requestId: '' }), replay: () => undefined, admit: async () => undefined, remember: async (_s, a) => a },
    })).rejects.toThrow(/no handler for request type shout/);
  });
});

describe('serveRequests under faults (a second server with a short deadline, on its own topics)', () => {
  const kinds = { player_key: { kind: 'string' as const }, request_id: { kind: 'string' as const } };
  const reqTopic = topicTemplate<RequestParams>('faults/player/{player_key}/request/{request_id}', kinds);
  const resTopic = topicTemplate<RequestParams>('faults/player/{player_key}/response/{request_id}', kinds);
  const req2: ChannelDef<RequestParams, unknown> = { ...requestChannel, topic: reqTopic };
  const res2: ChannelDef<RequestParams, unknown> = { ...responseChannel, topic: resTopic };
  const ops2 = {
    double: { ...operations.double, spec: { request: { ...operations.double.spec.request, topic: reqTopic }, response: { ...operations.double.spec.response, topic: resTopic } } },
    shout: { ...operations.shout, spec: { request: { ...operations.shout.spec.request, topic: reqTopic }, response: { ...operations.shout.spec.response, topic: resTopic } } },
  };
  let mode: 'ok' | 'hang' | 'throw' = 'ok';
  let held = gate();
  const seen: string[] = [];
  const events: string[] = [];
  const got = new Map<string, Record<string, unknown>[]>();
  let faults: ServedRequests;

  beforeAll(async () => {
    faults = await serveRequests<Session>({
      client: server, router, request: req2, response: res2, tag: 'request_type', operations: ops2,
      maxPayloadBytes: 2048, deadlineMs: 2000, breaker: { failures: 3, cooldownMs: 800 },
      handlers: { double: async (r: Double) => ({ request_id: r.request_id, success: true, doubled: r.n * 2 }), shout: async (r: Shout) => ({ request_id: r.request_id, success: true, text: r.text }) },
      hooks: {
        authenticate: async (params) => {
          seen.push(`authenticate:${params.request_id}`);
          if (mode === 'hang') await held.promise;
          if (mode === 'throw') throw new Error('connection refused');
          return { key: params.player_key, requestId: params.request_id };
        },
        replay: () => undefined,
        admit: async (s) => {
          seen.push(`admit:${s.requestId}`);
          return undefined;
        },
        remember: async (_s, a) => a,
      },
      observe: { joined: (t) => events.push(`joined:${t}`), breaker: (state) => events.push(`breaker:${state}`) },
    });
    player.on('message', (topic, payload) => {
      const p = resTopic.parse(topic);
      if (p) got.set(p.request_id, [...(got.get(p.request_id) ?? []), JSON.parse(payload.toString()) as Record<string, unknown>]);
    });
    await player.subscribeAsync(resTopic.filterRest({ player_key: KEY }), { qos: 1 });
  });
  afterAll(async () => faults?.stop());
  beforeEach(() => {
    mode = 'ok';
    held = gate();
    seen.length = 0;
    events.length = 0;
  });

  const send = (id: string, n = 2) => player.publishAsync(reqTopic.format({ player_key: KEY, request_id: id }), JSON.stringify({ request_type: 'double', request_id: id, player_key: KEY, n }), { qos: 1 });
  const answersTo = async (id: string, count = 1) => {
    await until(() => (got.get(id)?.length ?? 0) >= count, 5000, `${count} answer(s) to ${id}`);
    return got.get(id)!;
  };

  it('answers internal_error at the deadline for a request stuck on its store, and never a second, late answer', async () => {
    mode = 'hang';
    await send('stuck');
    expect(await answersTo('stuck')).toEqual([{ request_id: 'stuck', success: false, error_code: 'internal_error', error: 'The server could not answer in time; retry later' }]);
    held.open();
    await until(() => seen.includes('admit:stuck'), 3000, 'the held request to go on');
    // a control request proves the late answer would have arrived by now if it were sent
    mode = 'ok';
    await send('after-stuck');
    await answersTo('after-stuck');
    expect(got.get('stuck')).toHaveLength(1);
  });

  it('handles a copy of a request still being handled once (one admit), and answers both copies alike', async () => {
    mode = 'hang';
    await send('twice');
    await until(() => seen.includes('authenticate:twice'), 3000, 'the first copy to arrive');
    await send('twice');
    await until(() => events.includes('joined:double'), 3000, 'the second copy to join');
    held.open();
    expect(await answersTo('twice', 2)).toEqual([{ request_id: 'twice', success: true, doubled: 4 }, { request_id: 'twice', success: true, doubled: 4 }]);
    expect(seen.filter((x) => x === 'admit:twice')).toHaveLength(1);
  });

  it('opens the breaker after 3 store failures in a row (answers at once, calls no hook), and closes it when the store is back', async () => {
    mode = 'throw';
    for (const id of ['down1', 'down2', 'down3']) {
      await send(id);
      expect(await answersTo(id)).toMatchObject([{ success: false, error_code: 'internal_error', error: 'Internal server error' }]);
    }
    expect(events).toContain('breaker:open');
    seen.length = 0;
    await send('fast');
    expect(await answersTo('fast')).toMatchObject([{ success: false, error_code: 'internal_error', error: 'The server cannot reach its database; retry later' }]);
    expect(seen).toEqual([]);
    mode = 'ok';
    // after the cooldown one request probes the store; it succeeds and the breaker closes
    let n = 0;
    await until(() => {
      const last = got.get(`probe${n}`);
      if (last?.[0]?.success === true) return true;
      if (last || n === 0) void send(`probe${++n}`);
      return false;
    }, 5000, 'a request to succeed after the cooldown');
    expect(events).toContain('breaker:closed');
  });
});
