// Registration codes shown by a provisioned device: 6 characters from an alphabet without
// look-alikes (no 0/O, 1/I/L), from crypto randomness; case-insensitive on entry.
import { randomInt } from 'node:crypto';

export const REGISTRATION_CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const REGISTRATION_CODE_LENGTH = 6;

export function generateRegistrationCode(): string {
  let code = '';
  for (let i = 0; i < REGISTRATION_CODE_LENGTH; i++) code += REGISTRATION_CODE_ALPHABET[randomInt(REGISTRATION_CODE_ALPHABET.length)];
  return code;
}

/**
 * The stored form of a code typed by a user: trimmed and upper-cased. Any 6 letters or digits are
 * accepted (the contract's schema does, e.g. "ABC123"); anything else gives null.
 */
export function normalizeRegistrationCode(input: string): string | null {
  const code = input.trim().toUpperCase();
  return /^[A-Z0-9]{6}$/.test(code) ? code : null;
}
