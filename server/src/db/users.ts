// SQL about users. Look-ups by handle/email use lower() to hit the case-insensitive indexes.
import type { Queryable } from './client.js';

export interface UserRow {
  id: number; // internal id, encoded as the public sqid
  user_id: string;
  handle: string;
  email: string;
  roles: string[];
  created_at: Date;
}

export async function findUserById(sql: Queryable, userId: string): Promise<UserRow | null> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(userId)) return null;
  const rows = await sql<UserRow[]>`
    select id, user_id, handle, email, roles, created_at from users where user_id = ${userId}`;
  return rows[0] ?? null;
}
