// Password hashing with scrypt (node:crypto). Stored form:
//   scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>
// The parameters travel with the hash, so the cost can be raised later (see needsRehash) and
// tests can use a tiny N. Passwords are NFC-normalised so that the same visible text always
// matches, whatever the keyboard produced.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptParams {
  /** CPU/memory cost, a power of two (default 2^15). */
  N: number;
  /** Block size (default 8). */
  r: number;
  /** Parallelism (default 1). */
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Bounds on what a stored hash may ask for (a corrupted row must not exhaust memory). */
const MAX = { N: 2 ** 20, r: 32, p: 16 };

export class PasswordHashFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PasswordHashFormatError';
  }
}

function checkParams({ N, r, p }: ScryptParams): void {
  const ok =
    Number.isInteger(N) && N >= 2 && N <= MAX.N && (N & (N - 1)) === 0 &&
    Number.isInteger(r) && r >= 1 && r <= MAX.r &&
    Number.isInteger(p) && p >= 1 && p <= MAX.p;
  if (!ok) throw new PasswordHashFormatError(`scrypt parameters out of range: N=${N} (power of two, 2..2^20), r=${r} (1..32), p=${p} (1..16)`);
}

function derive(password: string, salt: Buffer, keyLength: number, { N, r, p }: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes a password (async; ~50-100 ms at the default cost). */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  checkParams(params);
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, HASH_BYTES, params);
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

interface Parsed extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

function parse(encoded: string): Parsed {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') throw new PasswordHashFormatError('stored password hash is not in the scrypt$N$r$p$salt$hash format');
  const [N, r, p] = parts.slice(1, 4).map((x) => (/^[0-9]{1,8}$/.test(x) ? Number(x) : NaN)) as [number, number, number];
  checkParams({ N, r, p });
  const b64 = /^[A-Za-z0-9_-]+$/;
  if (!b64.test(parts[4]!) || !b64.test(parts[5]!)) throw new PasswordHashFormatError('stored password hash has a malformed salt or hash');
  const salt = Buffer.from(parts[4]!, 'base64url');
  const hash = Buffer.from(parts[5]!, 'base64url');
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) throw new PasswordHashFormatError('stored password hash has a salt or hash of the wrong length');
  return { N, r, p, salt, hash };
}

/** True when `password` matches. Throws PasswordHashFormatError for a malformed stored hash (a server fault). */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const { salt, hash, ...params } = parse(encoded);
  const candidate = await derive(password, salt, hash.length, params);
  return timingSafeEqual(candidate, hash);
}

/** True when the stored hash uses other parameters than `params` (re-hash it after a successful login). */
export function needsRehash(encoded: string, params: ScryptParams = DEFAULT_SCRYPT): boolean {
  const parsed = parse(encoded);
  return parsed.N !== params.N || parsed.r !== params.r || parsed.p !== params.p;
}

/**
 * Spends the same time as a real check; use it when the account does not exist, so that login
 * timing does not reveal which emails are registered. Always false.
 */
export async function verifyNothing(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<false> {
  await derive(password, randomBytes(SALT_BYTES), HASH_BYTES, params);
  return false;
}
