// Limits on the operations that could be used to guess secrets or load the server: logins per
// email and client address and per address (password guessing, never a lock-out of the owner), player registrations per user (registration-code guessing), sign-ups
// per address and broker credentials per user. Each answers 429 rate_limit_exceeded with Retry-After.
// Hour-long windows counted from a minute before the stack (RATE_LIMIT_WINDOW_ORIGIN), so that no
// test straddles a window boundary. Every user is signed up from an address of its own (newUser),
// so no test uses up another's sign-up budget.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, expectStatus } from '../support/assertions.js';
import { startStack, uniqueHandle, type Stack, type TestUser } from '../support/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    env: { RATE_LIMIT_WINDOW_SECONDS: '3600', RATE_LIMIT_WINDOW_ORIGIN: String(Math.floor(Date.now() / 1000) - 60), RATE_LIMIT_LOGIN_PER_MINUTE: '3', RATE_LIMIT_LOGIN_PER_ADDRESS_PER_MINUTE: '8', HTTP_TRUST_PROXY: '127.0.0.1', RATE_LIMIT_SIGNUP_PER_MINUTE: '4', RATE_LIMIT_REGISTER_PLAYER_PER_MINUTE: '3', RATE_LIMIT_BOOTSTRAP_PER_MINUTE: '2' },
  });
});
afterAll(async () => stack?.stop());

let addresses = 0;
/** Signs a user up from an address used for nothing else. */
async function newUser(prefix: string): Promise<TestUser> {
  addresses += 1;
  const handle = uniqueHandle(prefix);
  const r = await stack.api.authRegister(
    { body: { handle, email: `${handle}@example.test`, password: 'correct horse battery' } },
    { headers: { 'x-forwarded-for': `10.1.${addresses >> 8}.${addresses & 255}` } },
  );
  return expectStatus(r, 201);
}

function expectLimited(r: { status: number; body: unknown; headers: Headers }): void {
  expectError(r, 429, 'rate_limit_exceeded', /^Rate limit exceeded; retry in \d+ seconds/);
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

describe('REST throttling', () => {
  it("refuses a guesser's 4th login for one email, even with the right password, but never the owner at another address", async () => {
    const user = await newUser('limited');
    const email = `${user.handle}@example.test`;
    const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });
    for (let i = 0; i < 3; i++) expectError(await stack.api.authLogin({ body: { email, password: 'wrong guess' } }, from('10.0.0.66')), 401, 'authentication_failed');
    expectLimited(await stack.api.authLogin({ body: { email, password: 'correct horse battery' } }, from('10.0.0.66')));
    // the owner, elsewhere, is not locked out by the guesser's failures
    expectStatus(await stack.api.authLogin({ body: { email, password: 'correct horse battery' } }, from('10.0.0.7')), 200);
    // another email from the guesser's address has its own budget
    const other = await newUser('other');
    expectStatus(await stack.api.authLogin({ body: { email: `${other.handle}@example.test`, password: 'correct horse battery' } }, from('10.0.0.66')), 200);
  });

  it('bounds guessing from one address across emails', async () => {
    const from = { headers: { 'x-forwarded-for': '10.0.0.99' } };
    const answers: number[] = [];
    for (let i = 0; i < 9; i++) answers.push((await stack.api.authLogin({ body: { email: `nobody${i}@example.test`, password: 'wrong guess' } }, from)).status);
    expect(answers).toEqual([401, 401, 401, 401, 401, 401, 401, 401, 429]);
  });

  it('refuses the 4th player registration attempt of a user (registration codes cannot be guessed)', async () => {
    const guesser = await newUser('guesser');
    for (const code of ['AAAAAA', 'BBBBBB', 'CCCCCC']) {
      expectError(await stack.api.registerPlayer({ body: { registration_code: code, name: 'x' } }, { token: guesser.token }), 404, 'not_found');
    }
    const p = expectStatus(await stack.api.provisionPlayer({ body: {} }), 201);
    expectLimited(await stack.api.registerPlayer({ body: { registration_code: p.registration_code, name: 'x' } }, { token: guesser.token }));
  });

  it('refuses the 3rd broker credential of a user in a minute', async () => {
    const web = await newUser('web');
    for (let i = 0; i < 2; i++) expectStatus(await stack.api.getMqttBootstrap({}, { token: web.token }), 200);
    expectLimited(await stack.api.getMqttBootstrap({}, { token: web.token }));
  });

  it('refuses sign-ups from one address beyond the limit', async () => {
    const from = { headers: { 'x-forwarded-for': '10.0.0.44' } };
    const signUp = (h = uniqueHandle('signup')) => stack.api.authRegister({ body: { handle: h, email: `${h}@example.test`, password: 'correct horse battery' } }, from);
    for (let i = 0; i < 4; i++) expectStatus(await signUp(), 201);
    expectLimited(await signUp());
    // another address still signs up
    await newUser('elsewhere');
  });
});
