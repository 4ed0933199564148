import { describe, expect, it } from 'vitest';
import { decodeUserSqid, encodeUserId, SQID_MIN_LENGTH } from '../../src/ids/sqid.js';

describe('user sqids', () => {
  it('round-trip user ids', () => {
    for (const id of [1, 2, 3, 42, 1000, 123_456_789, 2 ** 31 - 1, Number.MAX_SAFE_INTEGER]) {
      const s = encodeUserId(id);
      expect(s).toMatch(/^[A-Za-z0-9]+$/);
      expect(s.length).toBeGreaterThanOrEqual(SQID_MIN_LENGTH);
      expect(decodeUserSqid(s)).toBe(id);
    }
    const many = Array.from({ length: 500 }, (_, i) => encodeUserId(i + 1));
    expect(new Set(many).size).toBe(500);
  });

  it('reject garbage and non-canonical encodings', () => {
    for (const bad of ['', 'abc', '!!!!!', 'abc d', 'ééééé', 'a'.repeat(40), '../../etc']) expect(decodeUserSqid(bad)).toBeNull();
    // A string of valid characters that is not the canonical encoding of its number.
    const canonical = encodeUserId(7);
    const mutated = canonical.slice(0, -1) + (canonical.endsWith('a') ? 'b' : 'a');
    const decoded = decodeUserSqid(mutated);
    if (decoded !== null) expect(encodeUserId(decoded)).toBe(mutated);
    let rejected = 0;
    for (let i = 0; i < 200; i++) {
      const junk = Array.from({ length: 6 }, () => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[Math.floor(Math.random() * 62)]).join('');
      const d = decodeUserSqid(junk);
      if (d === null) rejected++;
      else expect(encodeUserId(d)).toBe(junk);
    }
    expect(rejected).toBeGreaterThan(150);
  });

  it('refuse ids that cannot be users', () => {
    expect(() => encodeUserId(0)).toThrow(RangeError);
    expect(() => encodeUserId(-1)).toThrow(RangeError);
    expect(() => encodeUserId(1.5)).toThrow(RangeError);
  });
});
