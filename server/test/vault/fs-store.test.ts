// The filesystem store: atomic writes (no partial file, no temporary file left), ranges, listing
// (leftover temporary files included, for the sweep), idempotent delete, and names that cannot
// leave the root.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, describe, expect, it } from 'vitest';
import { FsVaultStore, objectName } from '../../src/vault/index.js';

const root = mkdtempSync(join(tmpdir(), 'mkp-vault-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const meta = { contentType: 'image/png', sha256: '0'.repeat(64) };
const key = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('FsVaultStore', () => {
  const store = new FsVaultStore(join(root, 'a'));

  it('writes under aa/bb/<key>.<ext>, reads whole and by range, deletes idempotently', async () => {
    const name = objectName(key(1), 'png');
    await store.put(name, Buffer.from('0123456789'), meta);
    expect(readFileSync(join(root, 'a', name), 'utf8')).toBe('0123456789');
    expect(await text((await store.read(name))!)).toBe('0123456789');
    expect(await text((await store.read(name, { start: 2, end: 4 }))!)).toBe('234');
    expect(filesUnder(join(root, 'a'))).toEqual([join(root, 'a', name)]); // no temporary file left
    await store.delete(name);
    await store.delete(name);
    expect(await store.read(name)).toBeNull();
  });

  it('replaces an object whole; concurrent writers of many objects leave exactly those objects', async () => {
    const name = objectName(key(2), 'gif');
    await store.put(name, Buffer.from('old old old'), meta);
    await store.put(name, Buffer.from('new'), meta);
    expect(await text((await store.read(name))!)).toBe('new');
    const names = Array.from({ length: 100 }, (_, i) => objectName(key(100 + i), 'webp'));
    await Promise.all(names.map((n, i) => store.put(n, Buffer.from(`object ${i}`), meta)));
    const listed = [];
    for await (const o of store.list()) listed.push(o.name);
    expect(listed.sort()).toEqual([name, ...names].sort());
    expect(filesUnder(join(root, 'a')).some((f) => f.includes('.tmp-'))).toBe(false);
  });

  it('lists a leftover temporary file (for the sweep) and deletes it, but refuses names outside the store', async () => {
    const s = new FsVaultStore(join(root, 'b'));
    mkdirSync(join(root, 'b', '0a', '1b'), { recursive: true });
    const leftover = '0a/1b/.tmp-0123456789abcdef-' + key(3) + '.png';
    writeFileSync(join(root, 'b', leftover), 'partial');
    writeFileSync(join(root, 'b', 'README'), 'not ours');
    const listed = [];
    for await (const o of s.list()) listed.push(o);
    expect(listed.map((o) => o.name)).toEqual([leftover]);
    expect(listed[0]!.size).toBe(7);
    await s.delete(leftover);
    expect(filesUnder(join(root, 'b'))).toEqual([join(root, 'b', 'README')]);
    for (const bad of ['../x', `0a/1b/../../${key(3)}.png`, 'README', `0A/1b/${key(3)}.png`, '/etc/passwd']) {
      await expect(s.put(bad, Buffer.from('x'), meta), bad).rejects.toThrow(/not a vault object name/);
      await expect(s.read(bad), bad).rejects.toThrow(/not a vault object name/);
      await expect(s.delete(bad), bad).rejects.toThrow(/not a vault object name/);
    }
  });
});
