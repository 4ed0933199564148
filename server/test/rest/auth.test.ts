// authRegister / authLogin / authMe against a real stack (server + PostgreSQL + broker).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '@makapix/contract/openapi/client';
import { restExamples } from '@makapix/contract/openapi/examples';
import { signToken, verifyToken } from '../../src/auth/index.js';
import { decodeUserSqid } from '../../src/ids/sqid.js';
import { registerUser, startStack, uniqueHandle, type Stack } from '../support/stack.js';
import { expectError, expectStatus } from './helpers.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => stack?.stop());

const ex = restExamples;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// The spec's examples name one account (artist123) and the handle "moderator" can be registered
// once: each test that needs one asks for it here, the first to ask creates it, so every test runs
// alone or in any order.
type RegisterResult = Awaited<ReturnType<Stack['api']['authRegister']>>;
let exampleArtist: Promise<{ registered: RegisterResult; before: number }> | undefined;
const theExampleArtist = () =>
  (exampleArtist ??= (async () => {
    const before = Date.now();
    return { registered: await stack.api.authRegister({ body: ex.authRegister.request.new_artist }), before };
  })());
let moderatorAccount: ReturnType<typeof registerUser> | undefined;
/** The account with the handle "moderator" (which a 1.0 deployment could have listed in its configuration). */
const theModeratorHandle = () => (moderatorAccount ??= registerUser(stack.api, 'moderator'));

describe('authRegister', () => {
  it('creates the account (new_artist example), hashes the password, and returns a working token', async () => {
    const { registered: r, before } = await theExampleArtist();
    const body = expectStatus(r, 201);
    expect(Object.keys(body).sort()).toEqual(Object.keys(ex.authRegister.responses[201].new_artist).sort());
    expect(body.handle).toBe('artist123');
    expect(body.user_id).toMatch(UUID);

    const [row] = await stack.server.ctx.sql<{ id: number; user_id: string; password_hash: string; roles: string[] }[]>`
      select id, user_id, password_hash, roles from users where lower(handle) = 'artist123'`;
    expect(row!.user_id).toBe(body.user_id);
    expect(decodeUserSqid(body.sqid)).toBe(row!.id);
    expect(row!.password_hash).toMatch(/^scrypt\$1024\$8\$1\$/);
    expect(row!.password_hash).not.toContain(ex.authRegister.request.new_artist.password);
    expect(row!.roles).toEqual([]);

    const claims = verifyToken(stack.config.auth.jwtSecret, body.token);
    expect(claims.sub).toBe(body.user_id);
    expect(claims.exp - claims.iat).toBe(stack.config.auth.tokenTtlSeconds);
    expect(claims.iat * 1000).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);

    const me = expectStatus(await stack.api.authMe({}, { token: body.token }), 200);
    expect(me).toEqual({
      user_id: body.user_id,
      sqid: body.sqid,
      public_sqid: body.sqid,
      handle: 'artist123',
      email: ex.authRegister.request.new_artist.email,
      roles: ['user'],
      created_at: expect.stringMatching(/Z$/),
    });
    expect(Math.abs(Date.parse(me.created_at) - Date.now())).toBeLessThan(60_000);
  });

  it('refuses a handle that differs only in case (handle_taken example) with 409 and creates nothing', async () => {
    expectStatus((await theExampleArtist()).registered, 201);
    const r = await stack.api.authRegister({ body: ex.authRegister.request.handle_taken });
    expectError(r, 409, 'conflict', ex.authRegister.responses[409].handle_taken.error);
    const rows = await stack.server.ctx.sql`select 1 from users where lower(email) = ${ex.authRegister.request.handle_taken.email}`;
    expect(rows).toHaveLength(0);
  });

  it('refuses an email already registered, compared case-insensitively', async () => {
    expectStatus((await theExampleArtist()).registered, 201);
    const r = await stack.api.authRegister({
      body: { handle: uniqueHandle('other'), email: 'ARTIST123@Example.ORG', password: 'a fine password' },
    });
    expectError(r, 409, 'conflict', ex.authRegister.responses[409].email_taken.error);
  });

  it('answers 400 invalid_request for bodies outside the schema (unknown field, bad handle, short password)', async () => {
    const base = { handle: uniqueHandle('v'), email: 'valid@example.test', password: 'long enough password' };
    const bad: unknown[] = [
      { ...base, role: 'moderator' },
      { ...base, handle: 'a' },
      { ...base, handle: 'has space' },
      { ...base, handle: 'x'.repeat(51) },
      { ...base, password: 'short' },
      { ...base, email: 'not-an-email' },
      { handle: base.handle, password: base.password },
    ];
    for (const body of bad) {
      expectError(await stack.api.authRegister({ body: body as never }), 400, 'invalid_request');
    }
    const rows = await stack.server.ctx.sql`select 1 from users where lower(handle) = lower(${base.handle})`;
    expect(rows).toHaveLength(0);
  });

  it('grants no role for any handle, "moderator" included: roles come only from the operator command', async () => {
    const mod = await theModeratorHandle();
    const me = expectStatus(await stack.api.authMe({}, { token: mod.token }), 200);
    expect(me.roles).toEqual(['user']);
    const [row] = await stack.server.ctx.sql<{ roles: string[] }[]>`select roles from users where user_id = ${mod.user_id}`;
    expect(row!.roles).toEqual([]);
  });
});

describe('authLogin', () => {
  const { email, password } = ex.authLogin.request.artist_login;

  it('exchanges email and password for a token (artist_login example), email case-insensitive', async () => {
    expectStatus((await theExampleArtist()).registered, 201);
    for (const e of [email, email.toUpperCase()]) {
      const r = await stack.api.authLogin({ body: { email: e, password } });
      const body = expectStatus(r, 200);
      expect(Object.keys(body).sort()).toEqual(Object.keys(ex.authLogin.responses[200].artist_login).sort());
      expect(body.handle).toBe('artist123');
      const claims = verifyToken(stack.config.auth.jwtSecret, body.token);
      expect(claims.sub).toBe(body.user_id);
      expect(Date.parse(body.expires_at)).toBe(claims.exp * 1000);
      const me = expectStatus(await stack.api.authMe({}, { token: body.token }), 200);
      expect(me.user_id).toBe(body.user_id);
      expect(me.sqid).toBe(body.sqid);
    }
  });

  it('answers a wrong password and an unknown email with the same 401 (wrong_password example)', async () => {
    expectStatus((await theExampleArtist()).registered, 201);
    const expected = ex.authLogin.responses[401].wrong_password;
    const wrong = await stack.api.authLogin({ body: ex.authLogin.request.wrong_password });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual(expected);
    const unknown = await stack.api.authLogin({ body: { email: 'nobody@example.org', password } });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(expected);
  });

  it('grants no role at login, whatever the handle', async () => {
    const mod = await theModeratorHandle();
    const r = await stack.api.authLogin({ body: { email: 'moderator@example.test', password: 'correct horse battery' } });
    expect(expectStatus(r, 200).user_id).toBe(mod.user_id);
    expect(expectStatus(await stack.api.authMe({}, { token: expectStatus(r, 200).token }), 200).roles).toEqual(['user']);
  });

  it('answers 400 for a body outside the schema', async () => {
    expectError(await stack.api.authLogin({ body: { email, password: '' } }), 400, 'invalid_request');
    expectError(await stack.api.authLogin({ body: { email, password, remember: true } as never }), 400, 'invalid_request');
  });
});

describe('authMe', () => {
  it('answers 401 without a token, with a malformed one, a tampered one, or one signed with another secret', async () => {
    expectStatus((await theExampleArtist()).registered, 201);
    const login = expectStatus(await stack.api.authLogin({ body: ex.authLogin.request.artist_login }), 200);
    const other = await registerUser(stack.api);
    const [h, p, s] = login.token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    const otherPayload = Buffer.from(JSON.stringify({ ...claims, sub: other.user_id })).toString('base64url');
    const flipped = s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1);
    const foreign = signToken('another-secret-another-secret-0123456789', { sub: login.user_id, ttlSeconds: 600 }).token;
    const expired = signToken(stack.config.auth.jwtSecret, { sub: login.user_id, ttlSeconds: 60, now: new Date(Date.now() - 3600_000) }).token;
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${p}.`;

    expectError(await stack.api.authMe(), 401, 'authentication_failed');
    for (const token of [`${h}.${otherPayload}.${s}`, `${h}.${p}.${flipped}`, foreign, expired, none, 'garbage']) {
      expectError(await stack.api.authMe({}, { token }), 401, 'authentication_failed');
    }
    expectError(await stack.api.authMe({}, { headers: { authorization: `Basic ${login.token}` } }), 401, 'authentication_failed');
    // The untampered token still works.
    expect(expectStatus(await stack.api.authMe({}, { token: login.token }), 200).user_id).toBe(login.user_id);
  });
});
