// The owner of an owner route `/u/{sqid}/player...`: the user the sqid names, and the caller's
// right to act for them (the user themself or a moderator).
import type { FastifyRequest } from 'fastify';
import { restError, type OperationsDocumenting } from '@makapix/contract/openapi/routes';
import type { AppContext } from '../context.js';
import { findOwnerById, type OwnerRow } from '../db/players.js';
import type { UserRow } from '../db/users.js';
import { decodeUserSqid } from '../ids/index.js';
import { currentUser, isModerator } from './auth-hook.js';

export interface OwnerAccess {
  /** The user the sqid names. */
  owner: OwnerRow;
  /** The authenticated caller (the owner or a moderator). */
  caller: UserRow;
}

/** The owner routes: each answers 404 for an unknown sqid and 403 for a caller who may not act for its user. */
export type OwnerOperation = OperationsDocumenting<404, 'not_found'> & OperationsDocumenting<403, 'forbidden'>;

/** 404 for an unknown sqid, 403 unless the caller is that user or a moderator. */
export async function resolveOwner(ctx: AppContext, op: OwnerOperation, request: FastifyRequest, sqid: string): Promise<OwnerAccess> {
  const caller = currentUser(request);
  const id = decodeUserSqid(sqid);
  const owner = id === null ? null : await findOwnerById(ctx.sql, id);
  if (!owner) throw restError(op, 404, 'not_found', `no user has the sqid ${sqid}`);
  if (owner.id !== caller.id && !isModerator(caller)) {
    throw restError(op, 403, 'forbidden', "only the user themself or a moderator may manage this user's players");
  }
  return { owner, caller };
}

export function ownerIsModerator(owner: OwnerRow): boolean {
  return owner.roles.includes('moderator');
}
