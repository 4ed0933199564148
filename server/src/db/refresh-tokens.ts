// SQL about authToken's refresh tokens (migration 0009): only their SHA-256 is stored. Each is
// used once; using it creates its successor in the same family (one family per sign-in), and a
// second use of a used token revokes the whole family: whichever of a thief and the owner comes
// second is refused, and so is the other from then on.
import type { Queryable, Sql } from './client.js';

export interface NewRefreshToken {
  userId: number;
  familyId: string;
  tokenHash: Buffer;
  generation: number;
  expiresAt: Date;
}

export async function insertRefreshToken(sql: Queryable, t: NewRefreshToken): Promise<void> {
  await sql`
    insert into refresh_tokens (user_id, family_id, token_hash, generation, expires_at)
    values (${t.userId}, ${t.familyId}, ${t.tokenHash}, ${t.generation}, ${t.expiresAt})`;
}

/** Why a refresh token cannot be used. */
export type RefreshRefusal = 'unknown' | 'reused' | 'revoked' | 'expired' | 'ended';

export type RefreshOutcome =
  | { ok: true; userId: number; userUuid: string; familyId: string; generation: number }
  | { ok: false; why: RefreshRefusal };

/**
 * Uses the token with this hash, in one transaction with `next` (which inserts its successor):
 * refused when unknown, expired, revoked, of an ended generation (a password change or logout-all
 * came after), or already used (then the family is revoked, and that is committed).
 */
export async function useRefreshToken(
  sql: Sql,
  tokenHash: Buffer,
  now: Date,
  next: (tx: Queryable, used: { userId: number; familyId: string; generation: number }) => Promise<void>,
): Promise<RefreshOutcome> {
  return (await sql.begin(async (tx) => {
    const [row] = await tx<{ user_id: number; user_uuid: string; family_id: string; generation: number; expires_at: Date; used_at: Date | null; revoked_at: Date | null; current_generation: number }[]>`
      select r.user_id, u.user_id as user_uuid, r.family_id, r.generation, r.expires_at, r.used_at, r.revoked_at, u.token_generation as current_generation
      from refresh_tokens r join users u on u.id = r.user_id
      where r.token_hash = ${tokenHash}
      for update of r`;
    if (!row) return { ok: false, why: 'unknown' };
    if (row.revoked_at !== null) return { ok: false, why: 'revoked' };
    if (row.used_at !== null) {
      await tx`update refresh_tokens set revoked_at = ${now} where family_id = ${row.family_id} and revoked_at is null`;
      return { ok: false, why: 'reused' };
    }
    if (row.expires_at.getTime() <= now.getTime()) return { ok: false, why: 'expired' };
    if (row.generation !== row.current_generation) return { ok: false, why: 'ended' };
    await tx`update refresh_tokens set used_at = ${now} where token_hash = ${tokenHash}`;
    const used = { userId: row.user_id, familyId: row.family_id, generation: row.generation };
    await next(tx, used);
    return { ok: true, userUuid: row.user_uuid, ...used };
  })) as RefreshOutcome;
}

/** Revokes every refresh token of the user that is still usable (password change, logout-all). */
export async function revokeRefreshTokensOfUser(sql: Queryable, userId: number, now: Date): Promise<number> {
  const res = await sql`update refresh_tokens set revoked_at = ${now} where user_id = ${userId} and revoked_at is null and used_at is null`;
  return res.count;
}

/** Deletes refresh tokens that expired before `before` (housekeeping). */
export async function deleteExpiredRefreshTokens(sql: Queryable, before: Date): Promise<number> {
  const res = await sql`delete from refresh_tokens where expires_at < ${before}`;
  return res.count;
}
