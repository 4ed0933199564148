// Follows over REST: users by sqid (drives the per-follower new-post notifications) and promotion
// categories. Every call is idempotent and answers 204.
import { restError, type Handlers } from '@makapix/contract/openapi/routes';
import type { AppContext } from '../context.js';
import { followCategory, followUser, unfollowCategory, unfollowUser } from '../db/follows.js';
import { findUserByInternalId, type UserRow } from '../db/users.js';
import { decodeUserSqid } from '../ids/sqid.js';
import { currentUser } from './auth-hook.js';

type Ops = 'followUser' | 'unfollowUser' | 'followCategory' | 'unfollowCategory';

export function followHandlers(ctx: AppContext): Pick<Handlers, Ops> {
  /** The other user named by the sqid: 400 for oneself, 404 when nobody has this sqid. */
  const followee = async (op: 'followUser' | 'unfollowUser', me: UserRow, sqid: string): Promise<UserRow> => {
    const id = decodeUserSqid(sqid);
    if (id === me.id) throw restError(op, 400, 'invalid_request', 'You cannot follow yourself');
    const user = id === null ? null : await findUserByInternalId(ctx.sql, id);
    if (!user) throw restError(op, 404, 'not_found', `User ${sqid} not found`);
    return user;
  };

  return {
    async followUser(req) {
      const me = currentUser(req);
      const other = await followee('followUser', me, req.params.sqid);
      await followUser(ctx.sql, me.id, other.id);
      return { status: 204, body: null };
    },

    async unfollowUser(req) {
      const me = currentUser(req);
      const other = await followee('unfollowUser', me, req.params.sqid);
      await unfollowUser(ctx.sql, me.id, other.id);
      return { status: 204, body: null };
    },

    async followCategory(req) {
      const me = currentUser(req);
      await followCategory(ctx.sql, me.id, req.params.category);
      return { status: 204, body: null };
    },

    async unfollowCategory(req) {
      const me = currentUser(req);
      await unfollowCategory(ctx.sql, me.id, req.params.category);
      return { status: 204, body: null };
    },
  };
}
