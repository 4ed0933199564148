// Limits on the operations that could be used to guess secrets or load the server: logins per
// email and client address and per address (password guessing, never a lock-out of the owner), player registrations per user (registration-code guessing), sign-ups
// per address and broker credentials per user. Each answers 429 rate_limit_exceeded with Retry-After.
// Hour-long windows, so that no test straddles a window boundary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectStatus } from '../support/assertions.js';
import { registerUser, startStack, uniqueHandle, type Stack, type TestUser } from '../support/stack.js';

let stack: Stack;
let user: TestUser;

beforeAll(async () => {
  stack = await startStack({
    env: { RATE_LIMIT_WINDOW_SECONDS: '3600', RATE_LIMIT_LOGIN_PER_MINUTE: '3', RATE_LIMIT_LOGIN_PER_ADDRESS_PER_MINUTE: '8', HTTP_TRUST_PROXY: '127.0.0.1', RATE_LIMIT_SIGNUP_PER_MINUTE: '4', RATE_LIMIT_REGISTER_PLAYER_PER_MINUTE: '3', RATE_LIMIT_BOOTSTRAP_PER_MINUTE: '2' },
  });
  user = await registerUser(stack.api, uniqueHandle('limited'));
});
afterAll(async () => stack?.stop());

function expectLimited(r: { status: number; body: unknown; headers: Headers }): void {
  expectError(r, 429, 'rate_limit_exceeded', /^Rate limit exceeded; retry in \d+ seconds/);
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

describe('REST throttling', () => {
  it("refuses a guesser's 4th login for one email, even with the right password, but never the owner at another address", async () => {
    const email = `${user.handle}@example.test`;
    const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });
    for (let i = 0; i < 3; i++) expectError(await stack.api.authLogin({ body: { email, password: 'wrong guess' } }, from('10.0.0.66')), 401, 'authentication_failed');
    expectLimited(await stack.api.authLogin({ body: { email, password: 'correct horse battery' } }, from('10.0.0.66')));
    // the owner, elsewhere, is not locked out by the guesser's failures
    expectStatus(await stack.api.authLogin({ body: { email, password: 'correct horse battery' } }, from('10.0.0.7')), 200);
    // another email from the guesser's address has its own budget
    const other = await registerUser(stack.api, uniqueHandle('other'));
    expectStatus(await stack.api.authLogin({ body: { email: `${other.handle}@example.test`, password: 'correct horse battery' } }, from('10.0.0.66')), 200);
  });

  it('bounds guessing from one address across emails', async () => {
    const from = { headers: { 'x-forwarded-for': '10.0.0.99' } };
    const answers: number[] = [];
    for (let i = 0; i < 9; i++) answers.push((await stack.api.authLogin({ body: { email: `nobody${i}@example.test`, password: 'wrong guess' } }, from)).status);
    expect(answers).toEqual([401, 401, 401, 401, 401, 401, 401, 401, 429]);
  });

  it('refuses the 4th player registration attempt of a user (registration codes cannot be guessed)', async () => {
    const guesser = await registerUser(stack.api, uniqueHandle('guesser'));
    for (const code of ['AAAAAA', 'BBBBBB', 'CCCCCC']) {
      expectError(await stack.api.registerPlayer({ body: { registration_code: code, name: 'x' } }, { token: guesser.token }), 404, 'not_found');
    }
    const p = expectStatus(await stack.api.provisionPlayer({ body: {} }), 201);
    expectLimited(await stack.api.registerPlayer({ body: { registration_code: p.registration_code, name: 'x' } }, { token: guesser.token }));
  });

  it('refuses the 3rd broker credential of a user in a minute', async () => {
    const web = await registerUser(stack.api, uniqueHandle('web'));
    for (let i = 0; i < 2; i++) expectStatus(await stack.api.getMqttBootstrap({}, { token: web.token }), 200);
    expectLimited(await stack.api.getMqttBootstrap({}, { token: web.token }));
  });

  it('refuses sign-ups from one address beyond the limit', async () => {
    // beforeAll and the tests above signed up 4 users from this address: the limit
    const h = uniqueHandle('late');
    expectLimited(await stack.api.authRegister({ body: { handle: h, email: `${h}@example.test`, password: 'correct horse battery' } }));
  });
});
