import { describe, expect, it } from 'vitest';
import {
  generateRegistrationCode, normalizeRegistrationCode, REGISTRATION_CODE_ALPHABET,
} from '../../src/auth/registration-code.js';

describe('registration codes', () => {
  it('are 6 characters of the look-alike-free alphabet, and vary', () => {
    const codes = Array.from({ length: 2000 }, generateRegistrationCode);
    for (const c of codes) expect(c).toMatch(/^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{6}$/);
    expect(new Set(codes).size).toBeGreaterThan(1990);
    const used = new Set(codes.join(''));
    expect(used.size).toBe(REGISTRATION_CODE_ALPHABET.length);
    for (const ch of 'IOL01') expect(used.has(ch)).toBe(false);
  });

  it('normalise user input to upper case and reject anything but 6 letters or digits', () => {
    expect(normalizeRegistrationCode(' abc123 ')).toBe('ABC123');
    expect(normalizeRegistrationCode('XyZ789')).toBe('XYZ789');
    expect(normalizeRegistrationCode('ABC12')).toBeNull();
    expect(normalizeRegistrationCode('ABC1234')).toBeNull();
    expect(normalizeRegistrationCode('ABC-12')).toBeNull();
    expect(normalizeRegistrationCode('ÄBC123')).toBeNull();
  });
});
