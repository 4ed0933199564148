// Accounts: sign-up, login, the current user (CONTRACT_NOTES section 6).
// Handles and emails are unique case-insensitively (the database's lower() indexes decide, so
// concurrent sign-ups cannot both win). Handles listed in config.auth.moderators get the
// moderator role at sign-up, and at login if they were listed later: the first moderator of a
// deployment comes from its configuration.
import { restError, type Handlers } from '../../../generated/openapi/routes.js';
import type { User } from '../../../generated/openapi/schemas.js';
import { hashPassword, needsRehash, signToken, verifyNothing, verifyPassword, type ScryptParams } from '../auth/index.js';
import type { AppContext } from '../context.js';
import { throttle } from './throttle.js';
import { Constraints, isUniqueViolation } from '../db/index.js';
import { findUserForLogin, grantRole, insertUser, updatePasswordHash, type StoredRole, type UserRow } from '../db/users.js';
import { encodeUserId } from '../ids/sqid.js';
import { currentUser } from './auth-hook.js';

type Ops = 'authRegister' | 'authLogin' | 'authMe';

const LOGIN_FAILED = 'Invalid email or password';

/** The roles as the API shows them: every user has 'user'; stored roles come after it. */
export function apiRoles(user: Pick<UserRow, 'roles'>): User['roles'] {
  return ['user', ...(user.roles.includes('moderator') ? (['moderator'] as const) : [])];
}

export function authHandlers(ctx: AppContext): Pick<Handlers, Ops> {
  const scrypt: ScryptParams = { N: ctx.config.auth.scryptN, r: 8, p: 1 };
  const isConfiguredModerator = (handle: string) => ctx.config.auth.moderators.includes(handle.toLowerCase());
  const token = (user: UserRow) =>
    signToken(ctx.config.auth.jwtSecret, { sub: user.user_id, ttlSeconds: ctx.config.auth.tokenTtlSeconds, now: ctx.now() });

  return {
    async authRegister(req) {
      const { handle, email, password } = req.body;
      await throttle(ctx, 'authRegister', `signup:ip:${req.ip}`, ctx.config.rateLimits.signupPerAddressPerMinute, 'sign-ups from one address');
      const roles: StoredRole[] = isConfiguredModerator(handle) ? ['moderator'] : [];
      const passwordHash = await hashPassword(password, scrypt);
      let user: UserRow;
      try {
        user = await insertUser(ctx.sql, { handle, email, passwordHash, roles });
      } catch (err) {
        if (isUniqueViolation(err, Constraints.usersHandleUnique)) throw restError('authRegister', 409, 'conflict', 'Handle already taken');
        if (isUniqueViolation(err, Constraints.usersEmailUnique)) throw restError('authRegister', 409, 'conflict', 'Email already registered');
        throw err;
      }
      if (roles.length) ctx.log.info({ handle: user.handle }, 'user registered with the moderator role (from MAKAPIX_MODERATORS)');
      return {
        status: 201,
        body: { user_id: user.user_id, sqid: encodeUserId(user.id), handle: user.handle, token: token(user).token },
      };
    },

    async authLogin(req) {
      const { email, password } = req.body;
      // Limits per client address only: failures elsewhere never refuse the owner's right password,
      // and each address can guess only so often (and cost only so much password hashing).
      const limits = ctx.config.rateLimits;
      await throttle(ctx, 'authLogin', `login:addr:${req.ip}`, limits.loginPerAddressPerMinute, 'login attempts from one address');
      await throttle(ctx, 'authLogin', `login:email-addr:${email.toLowerCase()}|${req.ip}`, limits.loginPerEmailPerAddressPerMinute, 'login attempts for one email from one address');
      const user = await findUserForLogin(ctx.sql, email);
      // An unknown email costs the same hash as a wrong password and gets the same answer.
      const ok = user ? await verifyPassword(password, user.password_hash) : await verifyNothing(password, scrypt);
      if (!user || !ok) throw restError('authLogin', 401, 'authentication_failed', LOGIN_FAILED);
      if (needsRehash(user.password_hash, scrypt)) {
        await updatePasswordHash(ctx.sql, user.id, await hashPassword(password, scrypt));
      }
      if (isConfiguredModerator(user.handle) && !user.roles.includes('moderator')) {
        await grantRole(ctx.sql, user.id, 'moderator');
        ctx.log.info({ handle: user.handle }, 'moderator role granted at login (from MAKAPIX_MODERATORS)');
      }
      const t = token(user);
      return {
        status: 200,
        body: {
          token: t.token,
          user_id: user.user_id,
          sqid: encodeUserId(user.id),
          handle: user.handle,
          expires_at: t.expiresAt.toISOString(),
        },
      };
    },

    async authMe(req) {
      const user = currentUser(req);
      return {
        status: 200,
        body: {
          user_id: user.user_id,
          sqid: encodeUserId(user.id),
          handle: user.handle,
          email: user.email,
          roles: apiRoles(user),
          created_at: user.created_at.toISOString(),
        },
      };
    },
  };
}
