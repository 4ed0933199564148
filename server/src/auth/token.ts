// Bearer tokens: compact JWS, HS256 only (node:crypto HMAC), claims sub (user_id), iat, exp.
// Verification accepts exactly the header alg "HS256": "none", other algorithms and anything
// malformed are refused with a TokenError whose `kind` says why.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type TokenErrorKind =
  | 'malformed' // not three base64url parts of JSON
  | 'unsupported_algorithm' // alg is not HS256 (including "none"), or a critical header
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid' // iat in the future beyond the allowed skew
  | 'invalid_claims'; // sub / iat / exp missing or of the wrong type

export class TokenError extends Error {
  constructor(readonly kind: TokenErrorKind, message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

export interface TokenClaims {
  /** The user's user_id (UUID). */
  sub: string;
  /** Issued at, seconds since the epoch. */
  iat: number;
  /** Expires at, seconds since the epoch. */
  exp: number;
  [claim: string]: unknown;
}

export interface SignOptions {
  sub: string;
  ttlSeconds: number;
  now?: Date;
  /** Extra claims (cannot override sub, iat, exp). */
  claims?: Record<string, unknown>;
}

const MIN_SECRET_BYTES = 32;
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const B64URL = /^[A-Za-z0-9_-]+$/;

function key(secret: Buffer | string): Buffer {
  const k = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (k.length < MIN_SECRET_BYTES) throw new Error(`token secret must be at least ${MIN_SECRET_BYTES} bytes`);
  return k;
}

function mac(secret: Buffer, signingInput: string): Buffer {
  return createHmac('sha256', secret).update(signingInput).digest();
}

/** Signs a token for `sub`; returns it with its expiry. */
export function signToken(secret: Buffer | string, opts: SignOptions): { token: string; expiresAt: Date } {
  if (typeof opts.sub !== 'string' || opts.sub.length === 0) throw new Error('token subject must be a non-empty string');
  if (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds < 1) throw new Error(`token TTL must be a positive integer (got ${opts.ttlSeconds})`);
  const iat = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  const exp = iat + opts.ttlSeconds;
  const payload = Buffer.from(JSON.stringify({ ...opts.claims, sub: opts.sub, iat, exp })).toString('base64url');
  const input = `${HEADER}.${payload}`;
  return { token: `${input}.${mac(key(secret), input).toString('base64url')}`, expiresAt: new Date(exp * 1000) };
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new TokenError('malformed', `token ${what} is not base64url JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TokenError('malformed', `token ${what} is not a JSON object`);
  return value as Record<string, unknown>;
}

/** Verifies a token and returns its claims, or throws TokenError. */
export function verifyToken(
  secret: Buffer | string,
  token: string,
  opts: { now?: Date; clockSkewSeconds?: number } = {},
): TokenClaims {
  if (typeof token !== 'string' || token.length > 8192) throw new TokenError('malformed', 'token is missing or too long');
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p, i) => B64URL.test(p) || (i === 2 && p === ''))) {
    throw new TokenError('malformed', 'token must be three base64url parts separated by dots');
  }
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJson(h, 'header');
  if (header.alg !== 'HS256') throw new TokenError('unsupported_algorithm', `token algorithm ${JSON.stringify(header.alg)} is not accepted (only HS256)`);
  if (header.crit !== undefined) throw new TokenError('unsupported_algorithm', 'token has critical header parameters, which are not supported');
  if (header.typ !== undefined && header.typ !== 'JWT') throw new TokenError('malformed', `token type ${JSON.stringify(header.typ)} is not JWT`);

  const expected = mac(key(secret), `${h}.${p}`);
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new TokenError('bad_signature', 'token signature does not match');

  const claims = decodeJson(p, 'payload');
  const { sub, iat, exp } = claims;
  if (typeof sub !== 'string' || sub.length === 0) throw new TokenError('invalid_claims', 'token has no subject');
  if (typeof iat !== 'number' || !Number.isFinite(iat) || typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw new TokenError('invalid_claims', 'token iat and exp must be numbers');
  }
  const now = (opts.now ?? new Date()).getTime() / 1000;
  const skew = opts.clockSkewSeconds ?? 0;
  if (now >= exp + skew) throw new TokenError('expired', `token expired at ${new Date(exp * 1000).toISOString()}`);
  if (iat > now + skew + 60) throw new TokenError('not_yet_valid', 'token was issued in the future');
  return claims as TokenClaims;
}

/**
 * The user token generation a token was signed at (claim `gen`; tokens from before generations
 * existed have none and count as 0). A claim of another type is never a generation (-1).
 */
export function tokenGeneration(claims: TokenClaims): number {
  if (claims.gen === undefined) return 0;
  return typeof claims.gen === 'number' && Number.isSafeInteger(claims.gen) && claims.gen >= 0 ? claims.gen : -1;
}
