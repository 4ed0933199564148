// 0006_artwork_vault: the posts columns' constraints and the vault_objects rows the vault relies on
// (a file is servable only while its row exists and its post is not deleted).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgConstraint } from '../../src/db/client.js';
import { migrate } from '../../src/db/migrate.js';
import { insertPost, softDeletePost } from '../../src/db/posts.js';
import { deleteVaultObject, findServableObject, insertVaultObject, recordedFormats } from '../../src/db/vault-objects.js';
import { startTestDatabase, type TestDatabase } from './pg-fixture.js';

let db: TestDatabase;
let owner: number;

beforeAll(async () => {
  db = await startTestDatabase();
  await migrate(db.sql);
  const [u] = await db.sql<{ id: number }[]>`insert into users (handle, email, password_hash) values ('vaulter', 'v@example.com', 'x') returning id`;
  owner = u!.id;
});
afterAll(async () => db?.stop());

const base = () => ({ ownerId: owner, title: 'Art', artUrl: 'https://example.com/a.png', canvas: '8x8', width: 8, height: 8, frameCount: 1, hasTransparency: false });

describe('posts: description, hashtags, native_format', () => {
  it('stores them, with a caller-chosen storage key; defaults for a post without them', async () => {
    const key = randomUUID();
    const p = await insertPost(db.sql, { ...base(), storageKey: key, description: 'd', hashtags: ['pixel_art', 'x1'], nativeFormat: 'webp' });
    expect(p).toMatchObject({ storage_key: key, description: 'd', hashtags: ['pixel_art', 'x1'], native_format: 'webp' });
    const q = await insertPost(db.sql, base());
    expect(q).toMatchObject({ description: null, hashtags: [], native_format: null });
    expect(q.storage_key).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses hashtags that are not lower-case [a-z0-9_]{1,50}, more than 16, and unknown formats', async () => {
    for (const hashtags of [['Pixel'], ['#pixel'], [''], ['ok', ''], ['two words'], ['a'.repeat(51)], Array.from({ length: 17 }, (_, i) => `t${i}`)]) {
      const err = await insertPost(db.sql, { ...base(), hashtags }).catch((e: unknown) => e);
      expect(String(pgConstraint(err) ?? err), JSON.stringify(hashtags)).toMatch(/^posts_hashtags_(format|count)$/);
    }
    const err = await db.sql`insert into posts (owner_id, title, art_url, canvas, width, height, hashtags)
      values (${owner}, 'x', 'https://e/x.png', '8x8', 8, 8, array['ok', null]::text[])`.catch((e: unknown) => e);
    expect(pgConstraint(err)).toBe('posts_hashtags_format');
    expect(pgConstraint(await insertPost(db.sql, { ...base(), nativeFormat: 'jpg' as never }).catch((e: unknown) => e))).toBe('posts_native_format_known');
  });
});

describe('vault_objects', () => {
  it('is servable while its post exists and is not deleted, and gone with its row', async () => {
    const key = randomUUID();
    const p = await insertPost(db.sql, { ...base(), storageKey: key, nativeFormat: 'png' });
    await insertVaultObject(db.sql, { storageKey: key, format: 'png', byteSize: 123, sha256: 'ab'.repeat(32) });
    expect(await findServableObject(db.sql, key)).toEqual({ storage_key: key, native_format: 'png', byte_size: 123, sha256: 'ab'.repeat(32) });
    expect(await recordedFormats(db.sql, [key, randomUUID()])).toEqual(new Map([[key, 'png']]));
    await softDeletePost(db.sql, p.post_id);
    expect(await findServableObject(db.sql, key)).toBeNull();
    expect(await deleteVaultObject(db.sql, key)).toMatchObject({ storage_key: key, native_format: 'png' });
    expect(await deleteVaultObject(db.sql, key)).toBeNull();
    expect(await recordedFormats(db.sql, [key])).toEqual(new Map());
  });

  it('needs a post with that storage key (foreign key), and goes when the post row goes', async () => {
    const orphan = await insertVaultObject(db.sql, { storageKey: randomUUID(), format: 'gif', byteSize: 1, sha256: '00'.repeat(32) }).catch((e: unknown) => e);
    expect(pgConstraint(orphan)).toBe('vault_objects_storage_key_fkey');
    const key = randomUUID();
    const p = await insertPost(db.sql, { ...base(), storageKey: key, nativeFormat: 'gif' });
    const bad = await insertVaultObject(db.sql, { storageKey: key, format: 'gif', byteSize: 1, sha256: '00' }).catch((e: unknown) => e);
    expect(pgConstraint(bad)).toBe('vault_objects_sha256_length');
    await insertVaultObject(db.sql, { storageKey: key, format: 'gif', byteSize: 1, sha256: '00'.repeat(32) });
    await db.sql`delete from posts where post_id = ${p.post_id}`;
    expect(await recordedFormats(db.sql, [key])).toEqual(new Map());
  });
});
