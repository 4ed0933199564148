// Schema-derived fuzzing in `make test` (fixed seed): 2,000 MQTT requests over every request type and
// 1,000 REST calls over every operation; the server never crashes, never answers 5xx or
// internal_error, every answer matches the spec, and it still serves a good request afterwards.
// A longer run: `make fuzz ARGS="--mqtt 50000 --rest 20000 --seed 7"`.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeUserId } from '../../src/ids/sqid.js';
import { createPosts, createUser, type FixtureUser } from '../support/fixtures.js';
import { startStack, type Stack } from '../support/stack.js';
import { connectTestPlayer, type TestConnection } from '../mqtt/helpers.js';
import { runFuzz } from './run-fuzz.js';

let stack: Stack;
let owner: FixtureUser;
let conn: TestConnection;
let postIds: number[];

beforeAll(async () => {
  stack = await startStack({ env: { RATE_LIMIT_PLAYER_PER_MINUTE: '1000000', RATE_LIMIT_USER_PER_MINUTE: '1000000', RATE_LIMIT_PROVISION_PER_MINUTE: '1000000' } });
  owner = await createUser(stack);
  postIds = (await createPosts(stack.server.ctx.sql, owner.id, 5)).map((p) => p.post_id);
  conn = await connectTestPlayer(stack, owner);
});
afterAll(async () => {
  await conn?.close();
  await stack?.stop();
});

it('holds under 2,000 fuzzed MQTT requests and 1,000 fuzzed REST calls (seed 1)', async () => {
  const report = await runFuzz(stack, conn, owner.token, { postIds, sqid: encodeUserId(owner.id), playerId: conn.player.id }, { seed: 1, mqttCases: 2000, restCases: 1000, freshPlayer: () => connectTestPlayer(stack, owner) });
  expect(report.problems).toEqual([]);
  expect(report.mqtt.sent).toBe(2000);
  expect(report.mqtt.answered).toBe(2000);
  expect(report.rest.sent).toBe(1000);
  // the cases reach the handlers, not only the validators
  expect(report.mqtt.outcomes.success ?? 0).toBeGreaterThan(100);
  expect(Object.keys(report.rest.statuses).filter((s) => s.startsWith('2')).length).toBeGreaterThan(1);
  expect(report.healthyAfter).toBe(true);
}, 240_000);
