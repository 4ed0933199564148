// Accounts: sign-up, login, the current user (CONTRACT_NOTES section 6), and since REST 1.2 the
// Makapix app's token grants (authToken: password and refresh_token), the password change and
// logout from every device.
// Handles and emails are unique case-insensitively (the database's lower() indexes decide, so
// concurrent sign-ups cannot both win). Registering a handle never grants a role: roles are
// granted to existing accounts by the operator's command (server/src/admin/cli.ts).
// Every access token carries the user's token generation (claim `gen`); a password change or
// logout-all moves the generation on, which ends every earlier access token (auth-hook.ts), and
// revokes the refresh tokens and the WebSocket MQTT credential.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { restError, type Handlers } from '@makapix/contract/openapi/routes';
import type { User } from '@makapix/contract/openapi/schemas';
import { hashPassword, needsRehash, signToken, verifyNothing, verifyPassword, type ScryptParams } from '../auth/index.js';
import type { AppContext } from '../context.js';
import { throttle } from './throttle.js';
import { Constraints, isUniqueViolation } from '../db/index.js';
import { insertRefreshToken, revokeRefreshTokensOfUser, useRefreshToken, type RefreshRefusal } from '../db/refresh-tokens.js';
import { advanceTokenGeneration, findPasswordHash, findUserForLogin, insertUser, updatePasswordHash, type UserRow, type UserWithPassword } from '../db/users.js';
import { deleteWebCredential } from '../db/web-credentials.js';
import { encodeUserId } from '../ids/sqid.js';
import { currentUser } from './auth-hook.js';

type Ops = 'authRegister' | 'authLogin' | 'authMe' | 'authToken' | 'authChangePassword' | 'authLogoutAll';

const LOGIN_FAILED = 'Invalid email or password';
const REFRESH_FAILED: Record<RefreshRefusal, string> = {
  unknown: 'The refresh token is invalid, expired or revoked; sign in again',
  expired: 'The refresh token is invalid, expired or revoked; sign in again',
  revoked: 'The refresh token is invalid, expired or revoked; sign in again',
  ended: 'The refresh token was ended by a password change or a logout from every device; sign in again',
  reused: 'The refresh token was already used; every token of this sign-in is now revoked; sign in again',
};
/** Refresh tokens: `mpr_` + 256 random bits (spec RefreshToken). */
const REFRESH_PREFIX = 'mpr_';

/** The roles as the API shows them: every user has 'user'; stored roles come after it. */
export function apiRoles(user: Pick<UserRow, 'roles'>): User['roles'] {
  return ['user', ...(user.roles.includes('moderator') ? (['moderator'] as const) : [])];
}

function refreshTokenHash(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export function authHandlers(ctx: AppContext): Pick<Handlers, Ops> {
  const scrypt: ScryptParams = { N: ctx.config.auth.scryptN, r: 8, p: 1 };
  const signFor = (user: Pick<UserRow, 'user_id'>, generation: number, ttlSeconds: number) =>
    signToken(ctx.config.auth.jwtSecret, { sub: user.user_id, ttlSeconds, now: ctx.now(), claims: { gen: generation } });
  const token = (user: UserRow) => signFor(user, user.token_generation, ctx.config.auth.tokenTtlSeconds);
  const loginBody = (user: UserRow, t: { token: string; expiresAt: Date }) => ({
    token: t.token,
    user_id: user.user_id,
    sqid: encodeUserId(user.id),
    handle: user.handle,
    expires_at: t.expiresAt.toISOString(),
  });

  /** Email and password against the per-address limits; the user, or the operation's 401. */
  async function checkCredentials(op: 'authLogin' | 'authToken', ip: string, email: string, password: string): Promise<UserWithPassword> {
    // Limits per client address only: failures elsewhere never refuse the owner's right password,
    // and each address can guess only so often (and cost only so much password hashing).
    const limits = ctx.config.rateLimits;
    await throttle(ctx, op, `login:addr:${ip}`, limits.loginPerAddressPerMinute, 'login attempts from one address');
    await throttle(ctx, op, `login:email-addr:${email.toLowerCase()}|${ip}`, limits.loginPerEmailPerAddressPerMinute, 'login attempts for one email from one address');
    const user = await findUserForLogin(ctx.sql, email);
    // An unknown email costs the same hash as a wrong password and gets the same answer.
    const ok = user ? await verifyPassword(password, user.password_hash) : await verifyNothing(password, scrypt);
    if (!user || !ok) throw restError(op, 401, 'authentication_failed', LOGIN_FAILED);
    if (needsRehash(user.password_hash, scrypt)) {
      await updatePasswordHash(ctx.sql, user.id, await hashPassword(password, scrypt));
    }
    return user;
  }

  /** A new refresh token of `familyId`, stored (hash only) through `sql`. */
  async function newRefreshToken(sql: Parameters<typeof insertRefreshToken>[0], userId: number, familyId: string, generation: number): Promise<string> {
    const value = `${REFRESH_PREFIX}${randomBytes(32).toString('base64url')}`;
    const expiresAt = new Date(ctx.now().getTime() + ctx.config.auth.refreshTokenTtlSeconds * 1000);
    await insertRefreshToken(sql, { userId, familyId, tokenHash: refreshTokenHash(value), generation, expiresAt });
    return value;
  }

  function tokenBody(user: Pick<UserRow, 'user_id'>, generation: number, refreshToken: string) {
    const ttl = ctx.config.auth.accessTokenTtlSeconds;
    return { access_token: signFor(user, generation, ttl).token, token_type: 'Bearer' as const, refresh_token: refreshToken, expires_in: ttl };
  }

  /**
   * Ends every token of the user issued so far, in one transaction (`alsoThere` joins it, e.g.
   * the new password hash): the token generation moves on (access tokens), refresh tokens are
   * revoked, the WebSocket MQTT credential row goes; then the broker client is deleted (a failure
   * there is logged, and the web-credential sweep deletes the client within a minute). Returns the
   * new generation.
   */
  async function endSessions(user: UserRow, alsoThere?: (tx: Parameters<typeof advanceTokenGeneration>[0]) => Promise<void>): Promise<number> {
    const generation = (await ctx.sql.begin(async (tx) => {
      await alsoThere?.(tx);
      const g = await advanceTokenGeneration(tx, user.id);
      await revokeRefreshTokensOfUser(tx, user.id, ctx.now());
      await deleteWebCredential(tx, user.id);
      return g;
    })) as number | null;
    await ctx.brokerAdmin.removeWebUser(user.user_id).catch((err: unknown) =>
      ctx.log.warn({ err, user_id: user.user_id }, 'could not delete the broker client of a user whose sessions were ended; the sweep will'));
    return generation ?? user.token_generation + 1;
  }

  return {
    async authRegister(req) {
      const { handle, email, password } = req.body;
      await throttle(ctx, 'authRegister', `signup:ip:${req.ip}`, ctx.config.rateLimits.signupPerAddressPerMinute, 'sign-ups from one address');
      const passwordHash = await hashPassword(password, scrypt);
      let user: UserRow;
      try {
        user = await insertUser(ctx.sql, { handle, email, passwordHash, roles: [] });
      } catch (err) {
        if (isUniqueViolation(err, Constraints.usersHandleUnique)) throw restError('authRegister', 409, 'conflict', 'Handle already taken');
        if (isUniqueViolation(err, Constraints.usersEmailUnique)) throw restError('authRegister', 409, 'conflict', 'Email already registered');
        throw err;
      }
      return {
        status: 201,
        body: { user_id: user.user_id, sqid: encodeUserId(user.id), handle: user.handle, token: token(user).token },
      };
    },

    async authLogin(req) {
      const user = await checkCredentials('authLogin', req.ip, req.body.email, req.body.password);
      return { status: 200, body: loginBody(user, token(user)) };
    },

    async authToken(req) {
      const op = 'authToken';
      const body = req.body;
      const allowed = body.grant_type === 'password' ? ['email', 'password'] : ['refresh_token'];
      for (const field of ['email', 'password', 'refresh_token'] as const) {
        if (body[field] === undefined && allowed.includes(field)) throw restError(op, 400, 'invalid_request', `${field}: is required with grant_type ${body.grant_type}`);
        if (body[field] !== undefined && !allowed.includes(field)) throw restError(op, 400, 'invalid_request', `${field}: is not allowed with grant_type ${body.grant_type}`);
      }
      if (body.grant_type === 'password') {
        const user = await checkCredentials(op, req.ip, body.email!, body.password!);
        const refresh = await newRefreshToken(ctx.sql, user.id, randomUUID(), user.token_generation);
        return { status: 200, body: tokenBody(user, user.token_generation, refresh) };
      }
      let refresh = '';
      const outcome = await useRefreshToken(ctx.sql, refreshTokenHash(body.refresh_token!), ctx.now(), async (tx, used) => {
        refresh = await newRefreshToken(tx, used.userId, used.familyId, used.generation);
      });
      if (!outcome.ok) {
        if (outcome.why === 'reused') ctx.log.warn({ op }, 'a used refresh token was presented again; its family is revoked');
        throw restError(op, 401, 'authentication_failed', REFRESH_FAILED[outcome.why]);
      }
      return { status: 200, body: tokenBody({ user_id: outcome.userUuid }, outcome.generation, refresh) };
    },

    async authChangePassword(req) {
      const op = 'authChangePassword';
      const user = currentUser(req);
      await throttle(ctx, op, `password:user:${user.user_id}`, ctx.config.rateLimits.passwordChangePerUserPerMinute, 'password changes per user');
      const stored = await findPasswordHash(ctx.sql, user.id);
      if (stored === null || !(await verifyPassword(req.body.current_password, stored))) {
        throw restError(op, 403, 'forbidden', 'current_password: is not the password of this account');
      }
      const newHash = await hashPassword(req.body.new_password, scrypt);
      const generation = await endSessions(user, (tx) => updatePasswordHash(tx, user.id, newHash));
      ctx.log.info({ user_id: user.user_id }, 'password changed; every earlier token ended');
      const fresh = { ...user, token_generation: generation };
      return { status: 200, body: loginBody(fresh, token(fresh)) };
    },

    async authLogoutAll(req) {
      const user = currentUser(req);
      await endSessions(user);
      ctx.log.info({ user_id: user.user_id }, 'logout from every device; every token ended');
      return { status: 204, body: null };
    },

    async authMe(req) {
      const user = currentUser(req);
      const sqid = encodeUserId(user.id);
      return {
        status: 200,
        body: {
          user_id: user.user_id,
          sqid,
          public_sqid: sqid,
          handle: user.handle,
          email: user.email,
          roles: apiRoles(user),
          created_at: user.created_at.toISOString(),
        },
      };
    },
  };
}
