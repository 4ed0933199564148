// followUser / unfollowUser / followCategory / unfollowCategory on a real stack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PromotionCategoryValues } from '@makapix/contract/components/identifiers';
import { restExamples } from '@makapix/contract/openapi/examples';
import { encodeUserId } from '../../src/ids/sqid.js';
import { registerUser, startStack, uniqueHandle, type Stack, type TestUser } from '../support/stack.js';
import { expectError } from './helpers.js';

let stack: Stack;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  stack = await startStack();
  alice = await registerUser(stack.api, uniqueHandle('alice'));
  bob = await registerUser(stack.api, uniqueHandle('bob'));
});
afterAll(async () => stack?.stop());

const sql = () => stack.server.ctx.sql;
const follows = async (follower: TestUser, followee: TestUser) =>
  (await sql()`
    select 1 from follows f
    join users a on a.id = f.follower_id join users b on b.id = f.followee_id
    where a.user_id = ${follower.user_id} and b.user_id = ${followee.user_id}`).length;
const categories = async (user: TestUser) =>
  (await sql()<{ category: string }[]>`
    select c.category from category_follows c join users u on u.id = c.user_id
    where u.user_id = ${user.user_id} order by c.category`).map((r) => r.category);

describe('following users', () => {
  it('follows by sqid (204), idempotently, and unfollows (204), idempotently', async () => {
    const params = { sqid: bob.sqid };
    const opts = { token: alice.token };
    expect((await stack.api.followUser({ params }, opts)).status).toBe(204);
    expect(await follows(alice, bob)).toBe(1);
    expect(await follows(bob, alice)).toBe(0);
    const again = await stack.api.followUser({ params }, opts);
    expect(again.status).toBe(204);
    expect(again.body).toBeNull();
    expect(await follows(alice, bob)).toBe(1);

    expect((await stack.api.unfollowUser({ params }, opts)).status).toBe(204);
    expect(await follows(alice, bob)).toBe(0);
    expect((await stack.api.unfollowUser({ params }, opts)).status).toBe(204);
    expect(await follows(alice, bob)).toBe(0);
  });

  it('refuses to follow or unfollow oneself (self_follow example)', async () => {
    const expected = restExamples.followUser.responses[400].self_follow;
    for (const call of [stack.api.followUser, stack.api.unfollowUser]) {
      const r = await call({ params: { sqid: alice.sqid } }, { token: alice.token });
      expect(r.status).toBe(400);
      expect(r.body).toEqual(expected);
    }
    expect(await follows(alice, alice)).toBe(0);
  });

  it('answers 404 for a sqid nobody has (unused id or non-canonical), 400 for one outside the schema', async () => {
    const unused = encodeUserId(987_654);
    expectError(await stack.api.followUser({ params: { sqid: unused } }, { token: alice.token }), 404, 'not_found');
    expectError(await stack.api.unfollowUser({ params: { sqid: unused } }, { token: alice.token }), 404, 'not_found');
    expectError(await stack.api.followUser({ params: { sqid: 'zzzzzzzzzz' } }, { token: alice.token }), 404, 'not_found');
    expectError(await stack.api.followUser({ params: { sqid: 'bad-sqid' } }, { token: alice.token }), 400, 'invalid_request');
  });

  it('needs a bearer token', async () => {
    expectError(await stack.api.followUser({ params: { sqid: bob.sqid } }), 401, 'authentication_failed');
    expectError(await stack.api.unfollowUser({ params: { sqid: bob.sqid } }), 401, 'authentication_failed');
    expect(await follows(alice, bob)).toBe(0);
  });
});

describe('following categories', () => {
  const all = PromotionCategoryValues;

  it('follows and unfollows each category (204), idempotently', async () => {
    expect(all.length).toBeGreaterThan(1);
    for (const category of all) {
      expect((await stack.api.followCategory({ params: { category } }, { token: bob.token })).status).toBe(204);
      expect((await stack.api.followCategory({ params: { category } }, { token: bob.token })).status).toBe(204);
    }
    expect(await categories(bob)).toEqual([...all].sort());
    expect(await categories(alice)).toEqual([]);

    expect((await stack.api.unfollowCategory({ params: { category: 'frontpage' } }, { token: bob.token })).status).toBe(204);
    expect((await stack.api.unfollowCategory({ params: { category: 'frontpage' } }, { token: bob.token })).status).toBe(204);
    expect(await categories(bob)).toEqual(all.filter((c) => c !== 'frontpage').sort());
  });

  it('answers 400 for an unknown category and 401 without a token', async () => {
    expectError(await stack.api.followCategory({ params: { category: 'best-of' as never } }, { token: bob.token }), 400, 'invalid_request');
    expectError(await stack.api.unfollowCategory({ params: { category: 'best-of' as never } }, { token: bob.token }), 400, 'invalid_request');
    expectError(await stack.api.followCategory({ params: { category: 'frontpage' } }), 401, 'authentication_failed');
  });
});
