// Rate limits of MQTT requests on a real stack, with small limits from the environment
// (RATE_LIMIT_PLAYER_PER_MINUTE=5, RATE_LIMIT_USER_PER_MINUTE=8): per player, per owner user
// (all of the user's players together), nothing done when refused, stored answers still replayed.
// The "per minute" limits count per window; this stack's window is an hour long and starts a
// minute before the stack (RATE_LIMIT_WINDOW_ORIGIN), so no test here straddles a window boundary.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { playerRequestTopic } from '@makapix/contract/asyncapi/channels';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import { requestQueryPosts, requestSubmitView } from '@makapix/contract/asyncapi/operations';
import type { ErrorResponse } from '@makapix/contract/asyncapi/schemas';
import { createPost, createUser } from '../support/fixtures.js';
import { startStack, type Stack } from '../support/stack.js';
import { connectTestPlayer, rid, type TestConnection } from './helpers.js';

let stack: Stack;
const connections: TestConnection[] = [];

beforeAll(async () => {
  stack = await startStack({
    env: {
      RATE_LIMIT_PLAYER_PER_MINUTE: '5', RATE_LIMIT_USER_PER_MINUTE: '8',
      RATE_LIMIT_WINDOW_SECONDS: '3600', RATE_LIMIT_WINDOW_ORIGIN: String(Math.floor(Date.now() / 1000) - 60),
    },
  });
});

afterAll(async () => {
  await Promise.allSettled(connections.map((c) => c.close()));
  await stack?.stop();
});

it('refuses the 6th request of a player and the 9th of a user with rate_limit_exceeded; refused requests do nothing', async () => {
  const owner = await createUser(stack);
  const post = await createPost(stack.server.ctx.sql, (await createUser(stack)).id);
  const a = await connectTestPlayer(stack, owner);
  const b = await connectTestPlayer(stack, owner);
  const other = await connectTestPlayer(stack, await createUser(stack));
  connections.push(a, b, other);
  const view = (c: TestConnection, request_id = rid()) =>
    requestSubmitView(c.requester, { request_id, request_type: 'submit_view', player_key: c.player.player_key, post_id: post.post_id });
  const views = async () => (await stack.server.ctx.sql<{ n: number }[]>`select count(*)::int as n from view_events`)[0]!.n;

  const firstId = rid();
  const answersA = [];
  for (let i = 0; i < 6; i++) answersA.push(await view(a, i === 0 ? firstId : rid()));
  expect(answersA.map((r) => r.success)).toEqual([true, true, true, true, true, false]);
  const refused = answersA[5] as ErrorResponse;
  expect(refused.error_code).toBe('rate_limit_exceeded');
  expect(refused.error).toMatch(/^Rate limit exceeded \(5 requests per minute per player\)/);
  // the stack's hour-long window, started a minute before the stack, has most of its hour left
  expect(Number(/retry in (\d+) s/.exec(refused.error)![1])).toBeGreaterThan(1800);
  expect(await views()).toBe(5);

  // The user's budget is 8: player b gets 3 more, then the user limit refuses it.
  const answersB = [];
  for (let i = 0; i < 4; i++) answersB.push(await view(b));
  expect(answersB.map((r) => r.success)).toEqual([true, true, true, false]);
  expect((answersB[3] as ErrorResponse).error_code).toBe('rate_limit_exceeded');
  expect((answersB[3] as ErrorResponse).error).toMatch(/per user/);
  expect(await views()).toBe(8);

  // Another user's player is not affected.
  expect((await requestQueryPosts(other.requester, { request_id: rid(), request_type: 'query_posts', player_key: other.player.player_key })).success).toBe(true);

  // A redelivered request that was answered before still gets its stored answer (nothing re-done).
  const payload = { request_id: firstId, request_type: 'submit_view', player_key: a.player.player_key, post_id: post.post_id };
  await a.client.publishAsync(playerRequestTopic.format({ player_key: a.player.player_key, request_id: firstId }), JSON.stringify(payload), { qos: 1 });
  const [, replay] = await a.responses.wait(firstId, 2);
  expect(replay!.body).toEqual({ request_id: firstId, success: true, error: null });
  expect(await views()).toBe(8);
  expect(messageExamples.ErrorResponse.submit_view_rate_limit_exceeded.error_code).toBe(refused.error_code);
});

it('counts malformed requests against the player limit: the 6th is refused, and so is a valid one after', async () => {
  const c = await connectTestPlayer(stack, await createUser(stack));
  connections.push(c);
  const key = c.player.player_key;
  const codes: string[] = [];
  for (let i = 0; i < 6; i++) {
    const id = rid();
    await c.client.publishAsync(playerRequestTopic.format({ player_key: key, request_id: id }), i % 2 ? '{"not json' : '{"request_type":"query_posts"}', { qos: 1 });
    const [answer] = await c.responses.wait(id, 1);
    codes.push((answer!.body as ErrorResponse).error_code);
  }
  expect(codes).toEqual(['invalid_request', 'invalid_request', 'invalid_request', 'invalid_request', 'invalid_request', 'rate_limit_exceeded']);
  const valid = await requestQueryPosts(c.requester, { request_id: rid(), request_type: 'query_posts', player_key: key });
  expect(valid).toMatchObject({ success: false, error_code: 'rate_limit_exceeded' });
});
