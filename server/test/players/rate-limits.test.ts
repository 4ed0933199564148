// Rate limits of the player REST operations on a real stack: commands per player (here 3 per
// minute, from RATE_LIMIT_PLAYER_PER_MINUTE) and provisioning per client address.
// The command limits count in an hour-long window started a minute before the stack
// (RATE_LIMIT_WINDOW_ORIGIN), so the command test never straddles a window boundary. Provisioning
// counts per clock minute (its window is not configurable): that test holds across a boundary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rateLimitKeys } from '../../src/db/rate-limit.js';
const PROVISION_PER_MINUTE = 30; // the default of RATE_LIMIT_PROVISION_PER_MINUTE
import { provisionPlayer, registerUser, startStack, uniqueHandle, type Stack } from '../support/stack.js';
import { expectError } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: { RATE_LIMIT_PLAYER_PER_MINUTE: '3', RATE_LIMIT_WINDOW_SECONDS: '3600', RATE_LIMIT_WINDOW_ORIGIN: String(Math.floor(Date.now() / 1000) - 60) },
  });
});
afterAll(async () => stack?.stop());

const sql = () => stack.server.ctx.sql;

/** Calls `call` until it answers 429 (at most `max` times); returns the number of successes and the 429. */
async function untilLimited<R extends { status: number; body: unknown; headers: Headers }>(max: number, call: () => Promise<R>, okStatus: number) {
  let ok = 0;
  for (let i = 0; i < max; i++) {
    const r = await call();
    if (r.status === 429) return { ok, limited: r };
    expect(r.status, JSON.stringify(r.body)).toBe(okStatus);
    ok += 1;
  }
  throw new Error(`no 429 after ${max} calls`);
}

function expectRetryAfter(r: { headers: Headers }, windowSeconds: number): void {
  const retry = Number(r.headers.get('retry-after'));
  expect(Number.isInteger(retry)).toBe(true);
  expect(retry).toBeGreaterThanOrEqual(1);
  expect(retry).toBeLessThanOrEqual(windowSeconds);
}

describe('command rate limit per player', () => {
  it('answers 429 with Retry-After beyond the limit, and neither logs nor counts the refused command', async () => {
    const owner = await registerUser(stack.api, uniqueHandle('limited'));
    const player = await provisionPlayer(stack.api, owner);
    const { ok, limited } = await untilLimited(
      4,
      () => stack.api.sendPlayerCommand({ params: { sqid: owner.sqid, player_id: player.id }, body: { command_type: 'swap_next' } }, { token: owner.token }),
      200,
    );
    expect(ok).toBe(3);
    expectError(limited, 429, 'rate_limit_exceeded', /^Rate limit exceeded; retry in \d+ seconds/);
    expectRetryAfter(limited, 3600);
    const [logged] = await sql()<{ n: number }[]>`select count(*)::int as n from player_commands where player_key = ${player.player_key}`;
    expect(logged!.n).toBe(ok);
    const [counter] = await sql()<{ count: number }[]>`
      select count from rate_limit_counters where key = ${rateLimitKeys.player(player.player_key)} order by window_start desc limit 1`;
    expect(counter!.count).toBe(3);

    // command/all counts against every player's limit: refused as a whole
    expectError(
      await stack.api.sendCommandToAllPlayers({ params: { sqid: owner.sqid }, body: { command_type: 'swap_back' } }, { token: owner.token }),
      429, 'rate_limit_exceeded',
    );
    const [after] = await sql()<{ n: number }[]>`select count(*)::int as n from player_commands where player_key = ${player.player_key}`;
    expect(after!.n).toBe(ok);
  });
});

describe('provisioning rate limit per client address', () => {
  it(`answers 429 with Retry-After beyond ${PROVISION_PER_MINUTE} per minute`, async () => {
    const { ok, limited } = await untilLimited(2 * PROVISION_PER_MINUTE + 1, () => stack.api.provisionPlayer({ body: {} }), 201);
    expect(ok).toBeGreaterThanOrEqual(PROVISION_PER_MINUTE - 1); // the first test's provision shares the window
    expectError(limited, 429, 'rate_limit_exceeded');
    expectRetryAfter(limited, 60);
    const [counter] = await sql()<{ count: number }[]>`
      select count from rate_limit_counters where key like 'provision:%' order by window_start desc limit 1`;
    expect(counter!.count).toBe(PROVISION_PER_MINUTE);
  });
});
