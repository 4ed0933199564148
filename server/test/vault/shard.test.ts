// The firmware's address rule, checked against vectors computed here from SHA-256 directly and
// against the example written in the spec (StorageShard: 7c9e6679-... -> 23/16).
import { createHash, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { StorageShard } from '@makapix/contract/components/identifiers';
import { objectName, parseObjectName, parseObjectPath, storageShard } from '../../src/vault/index.js';

/** The rule, written out independently of the server's code. */
function firmwareShard(storageKey: string): string {
  const d = createHash('sha256').update(Buffer.from(storageKey, 'utf8')).digest();
  return [d[0]! & 0x3f, d[1]! & 0x3f].map((b) => b.toString(16).padStart(2, '0')).join('/');
}

describe('storageShard', () => {
  it('gives the spec example: 7c9e6679-7425-40de-944b-e07fc1f90ae7 -> 23/16', () => {
    expect(storageShard('7c9e6679-7425-40de-944b-e07fc1f90ae7')).toBe('23/16');
    const description = (StorageShard as { description?: string }).description;
    expect(description).toContain('`7c9e6679-7425-40de-944b-e07fc1f90ae7`');
    expect(description).toContain('the shard is `23/16`');
  });

  it('matches the rule computed independently for many keys, and stays within 00..3f', () => {
    for (let i = 0; i < 500; i++) {
      const key = randomUUID();
      const shard = storageShard(key);
      expect(shard).toBe(firmwareShard(key));
      expect(shard).toMatch(/^[0-3][0-9a-f]\/[0-3][0-9a-f]$/);
    }
  });

  it('names objects aa/bb/<key>.<ext> and parses only exactly that back', () => {
    const key = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
    expect(objectName(key, 'png')).toBe('23/16/7c9e6679-7425-40de-944b-e07fc1f90ae7.png');
    expect(parseObjectPath('23', '16', `${key}.gif`)).toEqual({ storageKey: key, format: 'gif', name: `23/16/${key}.gif` });
    expect(parseObjectName(`23/16/${key}.webp`)).toMatchObject({ format: 'webp' });
    for (const [a, b, f] of [
      ['23', '17', `${key}.png`], // another key's shard
      ['23', '16', `${key.toUpperCase()}.png`],
      ['23', '16', `${key}.PNG`],
      ['23', '16', `${key}.jpg`],
      ['23', '16', `${key}`],
      ['23', '16', `${key}.png.png`],
      ['63', '16', `${key}.png`], // not 00..3f
      ['2', '316', `${key}.png`],
      ['..', '16', `${key}.png`],
      ['23', '16', `../../${key}.png`],
      ['23', '16', `${key.replace(/-/g, '')}.png`],
    ]) {
      expect(parseObjectPath(a!, b!, f!), `${a}/${b}/${f}`).toBeNull();
    }
    expect(parseObjectName(`x/23/16/${key}.png`)).toBeNull();
    expect(() => objectName(key.toUpperCase(), 'png')).toThrow(/lower-case storage key/);
  });
});
