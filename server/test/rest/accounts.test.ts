// Accounts since REST 1.2 against a real stack: authToken (password and rotating refresh tokens),
// authChangePassword and authLogoutAll ending every earlier token (REST 401, WebSocket MQTT
// credentials refused by the broker), and roles granted only by the operator's command.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { restExamples } from '@makapix/contract/openapi/examples';
import { verifyToken } from '../../src/auth/index.js';
import { runAdmin, AdminNotFoundError, AdminUsageError } from '../../src/admin/roles.js';
import { registerUser, startStack, TEST_PASSWORD, uniqueHandle, type Stack, type TestUser } from '../support/stack.js';
import { closed, connectError, connectWeb, endAll } from '../players/helpers.js';
import { expectError, expectStatus } from './helpers.js';

let stack: Stack;
const clients: MqttClient[] = [];
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await endAll(clients);
  await stack?.stop();
});

const ex = restExamples;
/** CONNACK reason code of the dynamic-security plugin for a bad username/password. */
const NOT_AUTHORIZED = 135;
const emailOf = (u: TestUser) => `${u.handle}@example.test`;

async function passwordGrant(u: TestUser, password = TEST_PASSWORD) {
  return expectStatus(await stack.api.authToken({ body: { grant_type: 'password', email: emailOf(u), password } }), 200);
}

async function refreshGrant(refresh_token: string) {
  return stack.api.authToken({ body: { grant_type: 'refresh_token', refresh_token } });
}

describe('authToken', () => {
  it('answers the password grant with an access token, Bearer, a refresh token and expires_in (password_grant example)', async () => {
    const u = await registerUser(stack.api);
    const t = await passwordGrant(u);
    expect(Object.keys(t).sort()).toEqual(Object.keys(ex.authToken.responses[200].password_grant).sort());
    expect(t.token_type).toBe('Bearer');
    expect(t.refresh_token).toMatch(/^mpr_[A-Za-z0-9_-]{43}$/);
    const claims = verifyToken(stack.config.auth.jwtSecret, t.access_token);
    expect(claims.sub).toBe(u.user_id);
    expect(claims.exp - claims.iat).toBe(t.expires_in);
    expect(t.expires_in).toBe(stack.config.auth.accessTokenTtlSeconds);
    expect(expectStatus(await stack.api.authMe({}, { token: t.access_token }), 200).user_id).toBe(u.user_id);
    // only the hash is stored
    const rows = await stack.server.ctx.sql<{ token_hash: Buffer }[]>`
      select r.token_hash from refresh_tokens r join users u on u.id = r.user_id where u.user_id = ${u.user_id}`;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash.toString('latin1')).not.toContain(t.refresh_token);
  });

  it('answers a wrong password and an unknown email with the same 401 (wrong_password example)', async () => {
    const u = await registerUser(stack.api);
    const wrong = await stack.api.authToken({ body: { grant_type: 'password', email: emailOf(u), password: 'not the password' } });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual(ex.authToken.responses[401].wrong_password);
    const unknown = await stack.api.authToken({ body: { grant_type: 'password', email: 'nobody@example.test', password: TEST_PASSWORD } });
    expect(unknown.body).toEqual(ex.authToken.responses[401].wrong_password);
  });

  it('answers 400 naming a field the grant needs or does not take', async () => {
    const bad: [unknown, RegExp][] = [
      [{ grant_type: 'password', email: 'a@example.test' }, /^password: is required with grant_type password$/],
      [{ grant_type: 'password', email: 'a@example.test', password: 'x', refresh_token: 'y' }, /^refresh_token: is not allowed with grant_type password$/],
      [{ grant_type: 'refresh_token' }, /^refresh_token: is required with grant_type refresh_token$/],
      [{ grant_type: 'refresh_token', refresh_token: 'x', email: 'a@example.test' }, /^email: is not allowed with grant_type refresh_token$/],
      [{ grant_type: 'client_credentials' }, /grant_type/],
    ];
    for (const [body, message] of bad) expectError(await stack.api.authToken({ body: body as never }), 400, 'invalid_request', message);
  });

  it('rotates the refresh token on use; using a used one revokes its whole family', async () => {
    const u = await registerUser(stack.api);
    const first = await passwordGrant(u);
    const second = expectStatus(await refreshGrant(first.refresh_token), 200);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect(verifyToken(stack.config.auth.jwtSecret, second.access_token).sub).toBe(u.user_id);
    // the first one again (a stolen copy, or the app's stale one): refused, and the family with it
    expectError(await refreshGrant(first.refresh_token), 401, 'authentication_failed', /already used/);
    expectError(await refreshGrant(second.refresh_token), 401, 'authentication_failed', ex.authToken.responses[401].refresh_token_invalid.error);
    // another sign-in of the same user is another family: untouched
    const other = await passwordGrant(u);
    expectStatus(await refreshGrant(other.refresh_token), 200);
  });

  it('refuses an unknown or expired refresh token', async () => {
    const u = await registerUser(stack.api);
    const t = await passwordGrant(u);
    expectError(await refreshGrant(`mpr_${'A'.repeat(43)}`), 401, 'authentication_failed');
    await stack.server.ctx.sql`
      update refresh_tokens set expires_at = now() - interval '1 second'
      where user_id = (select id from users where user_id = ${u.user_id})`;
    expectError(await refreshGrant(t.refresh_token), 401, 'authentication_failed', ex.authToken.responses[401].refresh_token_invalid.error);
  });

  it('is served under /api and /api/v1 too', async () => {
    const u = await registerUser(stack.api);
    for (const base of ['/api', '/api/v1']) {
      const res = await fetch(`${stack.server.url}${base}/auth/token`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'password', email: emailOf(u), password: TEST_PASSWORD }),
      });
      expect(res.status, base).toBe(200);
      const me = await fetch(`${stack.server.url}${base}/auth/me`, { headers: { authorization: `Bearer ${((await res.json()) as { access_token: string }).access_token}` } });
      expect(((await me.json()) as { public_sqid: string }).public_sqid).toBe(u.sqid);
    }
  });
});

describe('authChangePassword', () => {
  it('ends every earlier token (REST 401, refresh refused, WebSocket credentials refused and the live session ended) and answers a working one', async () => {
    const u = await registerUser(stack.api);
    const app = await passwordGrant(u);
    const boot = expectStatus(await stack.api.getMqttBootstrap({}, { token: u.token }), 200);
    const live = await connectWeb(stack.services.urls.mqttWebsocket, boot.username, boot.password);
    clients.push(live);
    const ended = closed(live, 10_000);

    const r = await stack.api.authChangePassword({ body: { current_password: TEST_PASSWORD, new_password: 'a brand new passphrase' } }, { token: u.token });
    const body = expectStatus(r, 200);
    expect(Object.keys(body).sort()).toEqual(Object.keys(ex.authChangePassword.responses[200].change).sort());
    expect(expectStatus(await stack.api.authMe({}, { token: body.token }), 200).user_id).toBe(u.user_id);

    for (const old of [u.token, app.access_token]) {
      expectError(await stack.api.authMe({}, { token: old }), 401, 'authentication_failed', /password change/);
    }
    expectError(await refreshGrant(app.refresh_token), 401, 'authentication_failed', /password change|revoked/);
    await ended; // the broker ended the session that used the old credentials
    expect((await connectError(connectWeb(stack.services.urls.mqttWebsocket, boot.username, boot.password))).code).toBe(NOT_AUTHORIZED);
    const rows = await stack.server.ctx.sql`select 1 from web_mqtt_credentials w join users u on u.id = w.user_id where u.user_id = ${u.user_id}`;
    expect(rows).toHaveLength(0);

    // the old password is gone, the new one works; new WebSocket credentials work again
    expect((await stack.api.authLogin({ body: { email: emailOf(u), password: TEST_PASSWORD } })).status).toBe(401);
    expect((await stack.api.authLogin({ body: { email: emailOf(u), password: 'a brand new passphrase' } })).status).toBe(200);
    const again = expectStatus(await stack.api.getMqttBootstrap({}, { token: body.token }), 200);
    const reconnected = await connectWeb(stack.services.urls.mqttWebsocket, again.username, again.password);
    clients.push(reconnected);
    expect(reconnected.connected).toBe(true);
  });

  it('refuses a wrong current password (403) and a new one outside the sign-up rules (400), changing nothing', async () => {
    const u = await registerUser(stack.api);
    expectError(await stack.api.authChangePassword({ body: { current_password: 'wrong one', new_password: 'a brand new passphrase' } }, { token: u.token }),
      403, 'forbidden', ex.authChangePassword.responses[403].wrong_current_password.error);
    expectError(await stack.api.authChangePassword({ body: { current_password: TEST_PASSWORD, new_password: 'short' } }, { token: u.token }), 400, 'invalid_request', /new_password/);
    expectStatus(await stack.api.authMe({}, { token: u.token }), 200);
    expect((await stack.api.authLogin({ body: { email: emailOf(u), password: TEST_PASSWORD } })).status).toBe(200);
  });

  it('is throttled per user (429 with Retry-After)', async () => {
    const u = await registerUser(stack.api);
    const limit = stack.config.rateLimits.passwordChangePerUserPerMinute;
    const tries = await Promise.all(Array.from({ length: limit + 1 }, () =>
      stack.api.authChangePassword({ body: { current_password: 'wrong one', new_password: 'a brand new passphrase' } }, { token: u.token })));
    expect(tries.filter((t) => t.status === 403)).toHaveLength(limit);
    const refused = tries.find((t) => t.status === 429)!;
    expectError(refused, 429, 'rate_limit_exceeded');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});

describe('authLogoutAll', () => {
  it('ends every token of the user, this one included, and no other user\'s', async () => {
    const u = await registerUser(stack.api);
    const other = await registerUser(stack.api);
    const app = await passwordGrant(u);
    const r = await stack.api.authLogoutAll({}, { token: app.access_token });
    expect(r.status).toBe(204);
    for (const t of [u.token, app.access_token]) expectError(await stack.api.authMe({}, { token: t }), 401, 'authentication_failed');
    expectError(await refreshGrant(app.refresh_token), 401, 'authentication_failed');
    expectStatus(await stack.api.authMe({}, { token: other.token }), 200);
    // signing in again works
    expectStatus(await stack.api.authMe({}, { token: (await passwordGrant(u)).access_token }), 200);
  });

  it('accepts the app\'s empty body with a JSON content type', async () => {
    const u = await registerUser(stack.api);
    const res = await fetch(`${stack.server.url}/api/v1/auth/logout-all`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${u.token}` } });
    expect(res.status).toBe(204);
  });
});

describe('roles: only the operator command grants them', () => {
  const quiet = { operator: 'ops-alice (os user)', print: () => {} };

  it('the handle race grants nothing: whoever registers a handle gets no role', async () => {
    const squatter = await registerUser(stack.api, uniqueHandle('moderator'));
    expect(expectStatus(await stack.api.authMe({}, { token: squatter.token }), 200).roles).toEqual(['user']);
  });

  it('grants and revokes on an existing account by email or user_id, recorded with who and when; /auth/me shows it at once', async () => {
    const u = await registerUser(stack.api);
    const sql = stack.server.ctx.sql;
    const lines: string[] = [];
    const before = Date.now();
    await runAdmin(['grant', 'moderator', emailOf(u).toUpperCase()], { sql, operator: 'ops-alice (os user)', print: (l) => lines.push(l) });
    expect(lines[0]).toMatch(/^granted moderator to .* by ops-alice \(os user\); roles now: user, moderator$/);
    expect(expectStatus(await stack.api.authMe({}, { token: u.token }), 200).roles).toEqual(['user', 'moderator']);
    await runAdmin(['grant', 'moderator', u.user_id], { sql, ...quiet, print: (l) => lines.push(l) });
    expect(lines[1]).toMatch(/already has moderator; nothing changed/);
    await runAdmin(['revoke', 'moderator', u.user_id, '--by', 'incident 42'], { sql, ...quiet });
    expect(expectStatus(await stack.api.authMe({}, { token: u.token }), 200).roles).toEqual(['user']);
    const changes = await sql<{ action: string; role: string; changed_by: string; changed_at: Date }[]>`
      select action, role, changed_by, changed_at from role_changes where user_id = (select id from users where user_id = ${u.user_id}) order by id`;
    expect(changes.map((c) => [c.action, c.role, c.changed_by])).toEqual([['grant', 'moderator', 'ops-alice (os user)'], ['revoke', 'moderator', 'incident 42']]);
    for (const c of changes) expect(c.changed_at.getTime()).toBeGreaterThanOrEqual(before - 1000);
    const shown: string[] = [];
    await runAdmin(['show', emailOf(u)], { sql, ...quiet, print: (l) => shown.push(l) });
    expect(shown).toHaveLength(3);
    expect(shown[2]).toMatch(/revoke moderator by incident 42$/);
  });

  it('names the mistake: unknown account, unknown role, the implicit user role, a bad command', async () => {
    const sql = stack.server.ctx.sql;
    await expect(runAdmin(['grant', 'moderator', 'nobody@example.test'], { sql, ...quiet })).rejects.toThrow(AdminNotFoundError);
    await expect(runAdmin(['grant', 'admin', 'x@example.test'], { sql, ...quiet })).rejects.toThrow(/unknown role "admin"; roles: moderator/);
    await expect(runAdmin(['revoke', 'user', 'x@example.test'], { sql, ...quiet })).rejects.toThrow(/every account has the role 'user'/);
    await expect(runAdmin(['promote', 'x'], { sql, ...quiet })).rejects.toThrow(AdminUsageError);
    await expect(runAdmin(['grant', 'moderator'], { sql, ...quiet })).rejects.toThrow(/takes a role and an account/);
  });

  it('runs as the operator command line (the `make admin` target) against DATABASE_URL', async () => {
    const u = await registerUser(stack.api);
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    const run = (args: string[]) => new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/admin/cli.ts', ...args], {
        cwd: root, env: { ...process.env, DATABASE_URL: stack.env.DATABASE_URL! }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => resolve({ code, out }));
    });
    const granted = await run(['grant', 'moderator', emailOf(u), '--by', 'cli test']);
    expect(granted.code, granted.out).toBe(0);
    expect(granted.out).toMatch(/granted moderator/);
    expect(expectStatus(await stack.api.authMe({}, { token: u.token }), 200).roles).toEqual(['user', 'moderator']);
    const missing = await run(['grant', 'moderator', 'nobody@example.test']);
    expect(missing.code).toBe(1);
    expect(missing.out).toMatch(/no account has the email or user_id "nobody@example.test"/);
  }, 60_000);
});
