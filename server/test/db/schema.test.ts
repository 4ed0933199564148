// The constraints of 0001_init.sql that handlers rely on.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUniqueViolation, pgConstraint } from '../../src/db/client.js';
import { Constraints } from '../../src/db/constraints.js';
import { migrate } from '../../src/db/migrate.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';

let db: TestDatabase;

async function user(handle: string): Promise<number> {
  const [u] = await db.sql<{ id: number }[]>`
    insert into users (handle, email, password_hash) values (${handle}, ${handle + '@example.com'}, 'x') returning id`;
  return u!.id;
}

async function post(ownerId: number): Promise<number> {
  const [p] = await db.sql<{ post_id: number }[]>`
    insert into posts (owner_id, title, art_url, canvas, width, height)
    values (${ownerId}, 'Art', 'https://example.com/a.gif', '64x64', 64, 64) returning post_id`;
  return p!.post_id;
}

beforeAll(async () => {
  db = await startTestDatabase();
  await migrate(db.sql);
});
afterAll(async () => db?.stop());

describe('schema', () => {
  it('returns int8 values as JS numbers and refuses unsafe ones', async () => {
    const id = await user('numbers');
    expect(typeof id).toBe('number');
    const [{ n }] = await db.sql<{ n: number }[]>`select count(*) as n from users where id = ${id}`; // count(*) is int8
    expect(n).toBe(1);
    await expect(db.sql`select 9007199254740993::bigint as big`).rejects.toThrow(/does not fit in a JS number/);
    const [{ ok }] = await db.sql<{ ok: number }[]>`select 1::bigint as ok`;
    expect(ok).toBe(1);
  });

  it('keeps handles and emails unique case-insensitively', async () => {
    await user('Alice');
    const dup = await db.sql`insert into users (handle, email, password_hash) values ('ALICE', 'other@example.com', 'x')`.catch((e: unknown) => e);
    expect(isUniqueViolation(dup, Constraints.usersHandleUnique)).toBe(true);
    const dupMail = await db.sql`insert into users (handle, email, password_hash) values ('alice2', 'ALICE@example.com', 'x')`.catch((e: unknown) => e);
    expect(isUniqueViolation(dupMail, Constraints.usersEmailUnique)).toBe(true);
    const bad = await db.sql`insert into users (handle, email, password_hash) values ('a b', 'ab@example.com', 'x')`.catch((e: unknown) => e);
    expect(pgConstraint(bad)).toBe(Constraints.usersHandleFormat);
  });

  it('threads comments: replies sit one level below a parent of the same post, at most depth 2', async () => {
    const owner = await user('commenter');
    const p1 = await post(owner);
    const p2 = await post(owner);
    const [top] = await db.sql<{ comment_id: string }[]>`
      insert into comments (post_id, author_id, depth, body) values (${p1}, ${owner}, 0, 'top') returning comment_id`;
    const [r1] = await db.sql<{ comment_id: string }[]>`
      insert into comments (post_id, author_id, parent_id, depth, body) values (${p1}, null, ${top!.comment_id}, 1, 'r1') returning comment_id`;
    const [r2] = await db.sql<{ comment_id: string }[]>`
      insert into comments (post_id, parent_id, depth, body) values (${p1}, ${r1!.comment_id}, 2, 'r2') returning comment_id`;
    expect(r2!.comment_id).toMatch(/^[0-9a-f-]{36}$/);
    const tooDeep = await db.sql`
      insert into comments (post_id, parent_id, depth, body) values (${p1}, ${r2!.comment_id}, 3, 'r3')`.catch((e: unknown) => e);
    expect(pgConstraint(tooDeep)).toBe('comments_depth_range');
    const wrongDepth = await db.sql`
      insert into comments (post_id, parent_id, depth, body) values (${p1}, ${top!.comment_id}, 2, 'skip')`.catch((e: unknown) => e);
    expect(pgConstraint(wrongDepth)).toBe(Constraints.commentsParent);
    const otherPost = await db.sql`
      insert into comments (post_id, parent_id, depth, body) values (${p2}, ${top!.comment_id}, 1, 'x')`.catch((e: unknown) => e);
    expect(pgConstraint(otherPost)).toBe(Constraints.commentsParent);
  });

  it('allows at most 5 different reactions per user and post, even concurrently', async () => {
    const u = await user('reactor');
    const p = await post(u);
    const emoji = ['😀', '🔥', '❤️', '👍', '🎨', '🌈', '⭐'];
    const results = await Promise.allSettled(
      emoji.map((e) => db.sql`insert into reactions (post_id, user_id, emoji) values (${p}, ${u}, ${e}) on conflict do nothing`),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
    for (const r of results) if (r.status === 'rejected') expect(pgConstraint(r.reason)).toBe(Constraints.reactionLimit);
    const [{ n }] = await db.sql<{ n: number }[]>`select count(*) as n from reactions where post_id = ${p} and user_id = ${u}`;
    expect(n).toBe(5);
    // Re-adding an existing one is a no-op, not a limit error.
    const [{ emoji: existing }] = await db.sql<{ emoji: string }[]>`select emoji from reactions where post_id = ${p} limit 1`;
    const again = await db.sql`insert into reactions (post_id, user_id, emoji) values (${p}, ${u}, ${existing}) on conflict do nothing`;
    expect(again.count).toBe(0);
  });

  it('keeps registration codes unique and registered players complete', async () => {
    const code = 'ABC234';
    await db.sql`insert into players (registration_code, registration_code_expires_at) values (${code}, now() + interval '15 minutes')`;
    const dup = await db.sql`
      insert into players (registration_code, registration_code_expires_at) values (${code}, now() + interval '15 minutes')`.catch((e: unknown) => e);
    expect(isUniqueViolation(dup, Constraints.playersRegistrationCodeUnique)).toBe(true);
    const incomplete = await db.sql`insert into players (registration_status) values ('registered')`.catch((e: unknown) => e);
    expect(pgConstraint(incomplete)).toBe('players_registered_complete');
  });
});
