import { describe, expect, it } from 'vitest';
import {
  hashPassword, needsRehash, PasswordHashFormatError, verifyNothing, verifyPassword, type ScryptParams,
} from '../../src/auth/password.js';

const FAST: ScryptParams = { N: 1024, r: 8, p: 1 };

describe('scrypt passwords', () => {
  it('verifies the right password and refuses a wrong one', async () => {
    const stored = await hashPassword('correct horse battery staple', FAST);
    expect(stored).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('salts every hash and normalises Unicode', async () => {
    const a = await hashPassword('pässword', FAST);
    const b = await hashPassword('pässword', FAST);
    expect(a).not.toBe(b);
    // "ä" precomposed (NFC) and as "a" + combining diaeresis (NFD) are the same password.
    expect(await verifyPassword('pa\u0308ssword', a)).toBe(true);
  });

  it('uses the default cost N=2^15 unless told otherwise', async () => {
    const stored = await hashPassword('secret');
    expect(stored.startsWith('scrypt$32768$8$1$')).toBe(true);
    expect(await verifyPassword('secret', stored)).toBe(true);
    expect(needsRehash(stored)).toBe(false);
    expect(needsRehash(await hashPassword('secret', FAST))).toBe(true);
  });

  it('refuses malformed or abusive stored hashes', async () => {
    await expect(verifyPassword('x', 'plaintext')).rejects.toBeInstanceOf(PasswordHashFormatError);
    await expect(verifyPassword('x', 'scrypt$1000$8$1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA')).rejects.toThrow(/power of two/);
    await expect(verifyPassword('x', 'scrypt$4194304$8$1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA')).rejects.toThrow(/out of range/);
    await expect(verifyPassword('x', 'scrypt$1024$8$1$c2Fs!$aGFzaA')).rejects.toThrow(/malformed/);
    await expect(hashPassword('x', { N: 3, r: 8, p: 1 })).rejects.toThrow(/power of two/);
  });

  it('has a decoy check for unknown accounts', async () => {
    expect(await verifyNothing('whatever', FAST)).toBe(false);
  });
});
