// SQL about users. Look-ups by handle/email use lower() to hit the case-insensitive indexes.
// `roles` holds only the extra roles (today 'moderator'); every user also has the 'user' role,
// which is implicit (see apiRoles in rest/auth.ts). Roles change only through the operator's
// command (admin/cli.ts), each change recorded in role_changes. `token_generation` ends every
// earlier token when it moves on (password change, logout-all; migration 0009).
import type { UserRole } from '@makapix/contract/openapi/schemas';
import type { Queryable, Sql } from './client.js';

export interface UserRow {
  id: number; // internal id, encoded as the public sqid
  user_id: string;
  handle: string;
  email: string;
  roles: string[];
  created_at: Date;
  /** Tokens signed at another generation are refused (auth-hook.ts). */
  token_generation: number;
}

/** A user with its stored password hash (only for login). */
export interface UserWithPassword extends UserRow {
  password_hash: string;
}

/** The roles stored in users.roles: every API role but the implicit 'user'. */
export type StoredRole = Exclude<UserRole, 'user'>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function findUserById(sql: Queryable, userId: string): Promise<UserRow | null> {
  if (!UUID.test(userId)) return null;
  const rows = await sql<UserRow[]>`
    select id, user_id, handle, email, roles, created_at, token_generation from users where user_id = ${userId}`;
  return rows[0] ?? null;
}

/** By internal id (the number behind a sqid). */
export async function findUserByInternalId(sql: Queryable, id: number): Promise<UserRow | null> {
  if (!Number.isSafeInteger(id) || id < 1) return null;
  const rows = await sql<UserRow[]>`
    select id, user_id, handle, email, roles, created_at, token_generation from users where id = ${id}`;
  return rows[0] ?? null;
}

/** By handle, case-insensitively. */
export async function findUserByHandle(sql: Queryable, handle: string): Promise<UserRow | null> {
  const rows = await sql<UserRow[]>`
    select id, user_id, handle, email, roles, created_at, token_generation from users where lower(handle) = lower(${handle})`;
  return rows[0] ?? null;
}

/** By email, case-insensitively, with the password hash. */
export async function findUserForLogin(sql: Queryable, email: string): Promise<UserWithPassword | null> {
  const rows = await sql<UserWithPassword[]>`
    select id, user_id, handle, email, roles, created_at, token_generation, password_hash
    from users where lower(email) = lower(${email})`;
  return rows[0] ?? null;
}

export interface NewUser {
  handle: string;
  email: string;
  passwordHash: string;
  roles: StoredRole[];
}

/**
 * Inserts a user. A taken handle or email raises a unique violation of
 * Constraints.usersHandleUnique / Constraints.usersEmailUnique (compared case-insensitively).
 */
export async function insertUser(sql: Queryable, u: NewUser): Promise<UserRow> {
  const [row] = await sql<UserRow[]>`
    insert into users (handle, email, password_hash, roles)
    values (${u.handle}, ${u.email}, ${u.passwordHash}, ${u.roles}::text[])
    returning id, user_id, handle, email, roles, created_at, token_generation`;
  return row!;
}

/** The password hash of a user (by internal id), for checking a current password. */
export async function findPasswordHash(sql: Queryable, id: number): Promise<string | null> {
  const rows = await sql<{ password_hash: string }[]>`select password_hash from users where id = ${id}`;
  return rows[0]?.password_hash ?? null;
}

/** By email (case-insensitively) or user_id: how the operator names an account. */
export async function findUserByEmailOrUserId(sql: Queryable, who: string): Promise<UserRow | null> {
  if (UUID.test(who)) return findUserById(sql, who.toLowerCase());
  const rows = await sql<UserRow[]>`
    select id, user_id, handle, email, roles, created_at, token_generation from users where lower(email) = lower(${who})`;
  return rows[0] ?? null;
}

export interface RoleChange {
  role: StoredRole;
  action: 'grant' | 'revoke';
  changed_by: string;
  changed_at: Date;
}

/**
 * Grants or revokes a stored role and records the change (who, when) in one transaction. Returns
 * the user's roles afterwards and whether they changed (granting a held role or revoking an absent
 * one changes nothing and records nothing).
 */
export async function changeRole(
  sql: Sql,
  id: number,
  c: { role: StoredRole; action: 'grant' | 'revoke'; by: string },
): Promise<{ roles: string[]; changed: boolean } | null> {
  return (await sql.begin(async (tx) => {
    const [row] = await tx<{ roles: string[] }[]>`select roles from users where id = ${id} for update`;
    if (!row) return null;
    const has = row.roles.includes(c.role);
    if (has === (c.action === 'grant')) return { roles: row.roles, changed: false };
    const [after] = c.action === 'grant'
      ? await tx<{ roles: string[] }[]>`update users set roles = array_append(roles, ${c.role}::text) where id = ${id} returning roles`
      : await tx<{ roles: string[] }[]>`update users set roles = array_remove(roles, ${c.role}::text) where id = ${id} returning roles`;
    await tx`insert into role_changes (user_id, role, action, changed_by) values (${id}, ${c.role}, ${c.action}, ${c.by})`;
    return { roles: after!.roles, changed: true };
  })) as { roles: string[]; changed: boolean } | null;
}

/** The recorded role changes of a user, oldest first. */
export async function roleChanges(sql: Queryable, id: number): Promise<RoleChange[]> {
  return sql<RoleChange[]>`
    select role, action, changed_by, changed_at from role_changes where user_id = ${id} order by changed_at, id`;
}

/**
 * Moves the user's token generation on: every access token signed before, and every refresh
 * token of an earlier generation, stops working. Returns the new generation (null: no such user).
 */
export async function advanceTokenGeneration(sql: Queryable, id: number): Promise<number | null> {
  const rows = await sql<{ token_generation: number }[]>`
    update users set token_generation = token_generation + 1 where id = ${id} returning token_generation`;
  return rows[0]?.token_generation ?? null;
}

/** Replaces the stored password hash (re-hash with new parameters after a successful login). */
export async function updatePasswordHash(sql: Queryable, id: number, passwordHash: string): Promise<void> {
  await sql`update users set password_hash = ${passwordHash} where id = ${id}`;
}
