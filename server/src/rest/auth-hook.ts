// Bearer authentication for routes whose security is 'bearer' or 'optional-bearer': verifies the
// token, loads the user once, and attaches it as `request.user`. Routes whose security is
// 'device-token' (a player's own calls) take a device token instead: its player is `request.device`.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Authenticate } from '#runtime/v1';
import { authenticationFailed } from '@makapix/contract/openapi/routes';
import { deviceTokenHash, tokenGeneration, TokenError, verifyToken, type TokenClaims } from '../auth/index.js';
import type { AppContext } from '../context.js';
import { findPlayerByTokenHash, type DeviceTokenPlayer } from '../db/device-tokens.js';
import { findUserById, type UserRow } from '../db/users.js';

declare module 'fastify' {
  interface FastifyRequest {
    user: UserRow | null;
    /** The player of a 'device-token' route's token. */
    device: DeviceTokenPlayer | null;
  }
}

export function bearerAuthenticator(ctx: AppContext): Authenticate {
  return async (request: FastifyRequest, _reply: FastifyReply, security) => {
    request.user = null;
    request.device = null;
    const header = request.headers.authorization;
    if (header === undefined) {
      if (security === 'optional-bearer') return;
      throw authenticationFailed('missing Authorization: Bearer <token> header');
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw authenticationFailed('Authorization header must be "Bearer <token>"');
    if (security === 'device-token') {
      const hash = deviceTokenHash(m[1]!);
      const player = hash === null ? null : await findPlayerByTokenHash(ctx.sql, hash);
      if (!player) throw authenticationFailed('Unknown or replaced device token');
      request.device = player;
      return;
    }
    let claims: TokenClaims;
    try {
      claims = verifyToken(ctx.config.auth.jwtSecret, m[1], { now: ctx.now() });
    } catch (err) {
      if (err instanceof TokenError) throw authenticationFailed(err.message);
      throw err;
    }
    // The row is loaded on every request anyway: comparing its token generation with the token's
    // costs no query, and a password change or logout-all ends earlier tokens at once.
    const user = await findUserById(ctx.sql, claims.sub);
    if (!user) throw authenticationFailed('the token names a user that no longer exists');
    if (tokenGeneration(claims) !== user.token_generation) {
      throw authenticationFailed('the token was ended by a password change or a logout from every device; sign in again');
    }
    request.user = user;
  };
}

/** The authenticated user of a 'bearer' route (the hook guarantees it). */
export function currentUser(request: FastifyRequest): UserRow {
  if (!request.user) throw authenticationFailed('authentication required');
  return request.user;
}

/** The player of a 'device-token' route (the hook guarantees it). */
export function currentDevice(request: FastifyRequest): DeviceTokenPlayer {
  if (!request.device) throw authenticationFailed('a device token is required');
  return request.device;
}

export function isModerator(user: UserRow | null): boolean {
  return !!user && user.roles.includes('moderator');
}
