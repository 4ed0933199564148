// SQL about users. Look-ups by handle/email use lower() to hit the case-insensitive indexes.
// `roles` holds only the extra roles (today 'moderator'); every user also has the 'user' role,
// which is implicit (see apiRoles in rest/auth.ts).
import type { UserRole } from '../../../generated/openapi/schemas.js';
import type { Queryable } from './client.js';

export interface UserRow {
  id: number; // internal id, encoded as the public sqid
  user_id: string;
  handle: string;
  email: string;
  roles: string[];
  created_at: Date;
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
    select id, user_id, handle, email, roles, created_at from users where user_id = ${userId}`;
  return rows[0] ?? null;
}

/** By internal id (the number behind a sqid). */
export async function findUserByInternalId(sql: Queryable, id: number): Promise<UserRow | null> {
  if (!Number.isSafeInteger(id) || id < 1) return null;
  const rows = await sql<UserRow[]>`
    select id, user_id, handle, email, roles, created_at from users where id = ${id}`;
  return rows[0] ?? null;
}

/** By handle, case-insensitively. */
export async function findUserByHandle(sql: Queryable, handle: string): Promise<UserRow | null> {
  const rows = await sql<UserRow[]>`
    select id, user_id, handle, email, roles, created_at from users where lower(handle) = lower(${handle})`;
  return rows[0] ?? null;
}

/** By email, case-insensitively, with the password hash. */
export async function findUserForLogin(sql: Queryable, email: string): Promise<UserWithPassword | null> {
  const rows = await sql<UserWithPassword[]>`
    select id, user_id, handle, email, roles, created_at, password_hash
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
    returning id, user_id, handle, email, roles, created_at`;
  return row!;
}

/** Adds a role (no-op when present). Returns the user's roles afterwards, or null for an unknown user. */
export async function grantRole(sql: Queryable, id: number, role: StoredRole): Promise<string[] | null> {
  const rows = await sql<{ roles: string[] }[]>`
    update users set roles = case when ${role} = any(roles) then roles else array_append(roles, ${role}::text) end
    where id = ${id}
    returning roles`;
  return rows[0]?.roles ?? null;
}

/** Replaces the stored password hash (re-hash with new parameters after a successful login). */
export async function updatePasswordHash(sql: Queryable, id: number, passwordHash: string): Promise<void> {
  await sql`update users set password_hash = ${passwordHash} where id = ${id}`;
}
