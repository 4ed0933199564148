import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signToken, TokenError, verifyToken, type TokenErrorKind } from '../../src/auth/token.js';

const SECRET = Buffer.from('0123456789abcdef0123456789abcdef-test-secret');
const USER = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function kindOf(fn: () => unknown): TokenErrorKind {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TokenError);
    return (err as TokenError).kind;
  }
  throw new Error('expected a TokenError');
}

/** A token with any header/payload, correctly HMAC-signed with SECRET. */
function forge(header: unknown, payload: unknown, secret: Buffer = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

describe('HS256 tokens', () => {
  it('round-trips sub, iat and exp', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const { token, expiresAt } = signToken(SECRET, { sub: USER, ttlSeconds: 3600, now });
    expect(expiresAt.toISOString()).toBe('2026-01-01T01:00:00.000Z');
    const claims = verifyToken(SECRET, token, { now: new Date('2026-01-01T00:59:59Z') });
    expect(claims).toMatchObject({ sub: USER, iat: 1767225600, exp: 1767229200 });
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
    expect(header).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  it('rejects expired tokens', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const { token } = signToken(SECRET, { sub: USER, ttlSeconds: 60, now });
    expect(kindOf(() => verifyToken(SECRET, token, { now: new Date('2026-01-01T00:01:00Z') }))).toBe('expired');
    expect(verifyToken(SECRET, token, { now: new Date('2026-01-01T00:01:00Z'), clockSkewSeconds: 5 }).sub).toBe(USER);
  });

  it('rejects tampered payloads and signatures, and other secrets', () => {
    const { token } = signToken(SECRET, { sub: USER, ttlSeconds: 3600 });
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const otherUser = `${h}.${b64({ ...claims, sub: '00000000-0000-0000-0000-000000000000' })}.${s}`;
    expect(kindOf(() => verifyToken(SECRET, otherUser))).toBe('bad_signature');
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BA' : 'AA'}`;
    expect(kindOf(() => verifyToken(SECRET, flipped))).toBe('bad_signature');
    expect(kindOf(() => verifyToken(Buffer.from('another-secret-that-is-long-enough-32b'), token))).toBe('bad_signature');
  });

  it('rejects alg none and every other algorithm', () => {
    const payload = { sub: USER, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 };
    expect(kindOf(() => verifyToken(SECRET, `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`))).toBe('unsupported_algorithm');
    expect(kindOf(() => verifyToken(SECRET, forge({ alg: 'none' }, payload)))).toBe('unsupported_algorithm');
    expect(kindOf(() => verifyToken(SECRET, forge({ alg: 'HS512' }, payload)))).toBe('unsupported_algorithm');
    expect(kindOf(() => verifyToken(SECRET, forge({ alg: 'RS256' }, payload)))).toBe('unsupported_algorithm');
    expect(kindOf(() => verifyToken(SECRET, forge({ alg: 'hs256' }, payload)))).toBe('unsupported_algorithm');
    expect(kindOf(() => verifyToken(SECRET, forge({ alg: 'HS256', crit: ['exp'] }, payload)))).toBe('unsupported_algorithm');
    expect(verifyToken(SECRET, forge({ alg: 'HS256' }, payload)).sub).toBe(USER);
  });

  it('rejects malformed tokens and missing claims', () => {
    for (const bad of ['', 'abc', 'a.b', 'a.b.c.d', 'a b.c.d', `${b64([1])}.${b64({})}.x`]) {
      expect(kindOf(() => verifyToken(SECRET, bad))).toBe('malformed');
    }
    const now = Math.floor(Date.now() / 1000);
    expect(kindOf(() => verifyToken(SECRET, forge({ alg: 'HS256' }, { iat: now, exp: now + 60 })))).toBe('invalid_claims');
    expect(kindOf(() => verifyToken(SECRET, forge({ alg: 'HS256' }, { sub: USER, iat: now })))).toBe('invalid_claims');
    expect(kindOf(() => verifyToken(SECRET, forge({ alg: 'HS256' }, { sub: USER, iat: String(now), exp: now + 60 })))).toBe('invalid_claims');
    expect(kindOf(() => verifyToken(SECRET, forge({ alg: 'HS256' }, { sub: USER, iat: now + 3600, exp: now + 7200 })))).toBe('not_yet_valid');
  });

  it('refuses short secrets', () => {
    expect(() => signToken('short', { sub: USER, ttlSeconds: 60 })).toThrow(/at least 32 bytes/);
  });
});
