// Requests published while a server instance is away are not lost: the request pipeline's
// connection has a fixed client id (MQTT_CLIENT_ID) and a persistent session
// (MQTT_SESSION_EXPIRY_SECONDS), so the broker queues the instance's share of the shared
// subscription and delivers it when the instance comes back; an instance that does not come back
// is taken over by a live one (MQTT_SESSION_TAKEOVER_SECONDS). Every request is answered exactly
// once. With a session expiry of 0 (clean sessions, the old behaviour) the same requests are lost:
// the control that shows the test can fail. A killed (kill -9) instance with requests received and
// not yet answered is covered by server/test/chaos/chaos.test.ts (child processes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playerRequestTopic } from '@makapix/contract/asyncapi/channels';
import { createClient } from '@makapix/contract/openapi/client';
import type { ServerHandle } from '../../src/main.js';
import { registerUser, startStack, uniqueHandle, type Stack, type TestUser } from '../support/stack.js';
import { connectTestPlayer, eventually, rid, type TestConnection } from './helpers.js';

let stack: Stack;
let owner: TestUser;
const players: TestConnection[] = [];

beforeAll(async () => {
  // heartbeats every second; an instance silent for 3 s is taken over
  stack = await startStack({ env: { MQTT_CLIENT_ID: 'persist-a', MQTT_SESSION_EXPIRY_SECONDS: '120', MQTT_SESSION_TAKEOVER_SECONDS: '3' } });
  owner = await registerUser(stack.api, uniqueHandle('persist'));
});

afterAll(async () => {
  for (const p of players) await p.close().catch(() => {});
  await stack?.stop();
});

async function stopServer(s: ServerHandle): Promise<void> {
  await s.stop();
  stack.servers.splice(stack.servers.indexOf(s), 1);
}

/** Publishes `n` query_posts requests (QoS 1, acknowledged by the broker) and returns their ids. */
async function publishRequests(p: TestConnection, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = rid();
    ids.push(id);
    const payload = { request_type: 'query_posts', request_id: id, player_key: p.player.player_key, channel: 'all', sort: 'server_order', limit: 5 };
    await p.client.publishAsync(playerRequestTopic.format({ player_key: p.player.player_key, request_id: id }), JSON.stringify(payload), { qos: 1 });
  }
  return ids;
}

/** Waits until each id has an answer, then sends one more request and waits for it: answers sent before it are in. */
async function expectEachAnsweredOnce(p: TestConnection, ids: string[], timeoutMs = 15_000): Promise<void> {
  await eventually(async () => ids.every((id) => p.responses.of(id).length >= 1), timeoutMs);
  const [barrier] = await publishRequests(p, 1);
  await p.responses.wait(barrier!, 1, timeoutMs);
  for (const id of ids) {
    const answers = p.responses.of(id);
    expect(answers.map((a) => a.body.success), id).toEqual([true]);
  }
}

describe('the request pipeline keeps a persistent session', () => {
  it('answers, exactly once, every request published while its only instance was stopped, once it is back with the same id', async () => {
    const p = await connectTestPlayer(stack, owner);
    players.push(p);
    await expectEachAnsweredOnce(p, await publishRequests(p, 2));

    await stopServer(stack.server);
    const ids = await publishRequests(p, 20);
    const back = await stack.addServer({ MQTT_CLIENT_ID: 'persist-a' });
    stack.api = createClient(back.url); // the REST API of the running instance, for the next test
    await expectEachAnsweredOnce(p, ids);
  });

  it('with two instances, one stopped: the other answers its share at once, the stopped one its share when back', async () => {
    const p = await connectTestPlayer(stack, owner);
    players.push(p);
    const b = await stack.addServer({ MQTT_CLIENT_ID: 'persist-b' });
    // both are in the group: requests get answered
    await expectEachAnsweredOnce(p, await publishRequests(p, 4));

    await stopServer(b);
    const ids = await publishRequests(p, 20);
    // the running instance answers part of them now; the broker keeps the rest for persist-b
    await eventually(async () => ids.filter((id) => p.responses.of(id).length > 0).length >= 5, 10_000);
    const answeredBefore = ids.filter((id) => p.responses.of(id).length > 0).length;
    expect(answeredBefore).toBeLessThan(ids.length);

    await stack.addServer({ MQTT_CLIENT_ID: 'persist-b' });
    await expectEachAnsweredOnce(p, ids);
  });
});

describe('an instance that does not come back', () => {
  it('is taken over by a live one, which answers, exactly once, the requests waiting in its session and ends it', async () => {
    const p = await connectTestPlayer(stack, owner);
    players.push(p);
    const gone = await stack.addServer({ MQTT_CLIENT_ID: 'persist-gone' });
    await expectEachAnsweredOnce(p, await publishRequests(p, 4));
    await stopServer(gone);
    const ids = await publishRequests(p, 20);
    await expectEachAnsweredOnce(p, ids, 20_000);
    // its heartbeat row was claimed; only the live instance's is left
    await eventually(async () => {
      const rows = await stack.servers[0]!.ctx.sql<{ client_id: string }[]>`select client_id from request_sessions order by client_id`;
      return rows.every((r) => r.client_id !== 'persist-gone');
    }, 10_000);
  });
});

describe('control: a clean session (MQTT_SESSION_EXPIRY_SECONDS=0)', () => {
  it('loses the requests published while its only instance was stopped', async () => {
    const control = await startStack({ env: { MQTT_CLIENT_ID: 'clean-a', MQTT_SESSION_EXPIRY_SECONDS: '0' } });
    try {
      const o = await registerUser(control.api, uniqueHandle('clean'));
      const p = await connectTestPlayer(control, o);
      players.push(p);
      await control.server.stop();
      control.servers.splice(0, 1);
      const ids = await publishRequests(p, 5);
      await control.addServer({ MQTT_CLIENT_ID: 'clean-a' });
      // the new instance answers new requests, but none of those sent while it was away
      const [after] = await publishRequests(p, 1);
      await p.responses.wait(after!, 1, 10_000);
      expect(ids.filter((id) => p.responses.of(id).length > 0)).toEqual([]);
    } finally {
      await control.stop();
    }
  });
});
