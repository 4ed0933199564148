import { Type, type Static } from 'typebox';
import { describe, expect, it } from 'vitest';
import { compileValidator, memoizeFormat } from '../../runtime/validator.js';
import { discriminated } from '../../runtime/discriminated.js';

const Request = Type.Object(
  {
    request_id: Type.String({ minLength: 1, maxLength: 128 }),
    player_key: Type.String({ format: 'uuid' }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50 })),
    channel: Type.Optional(Type.Union([Type.Literal('all'), Type.Literal('promoted'), Type.Literal('user')])),
    sort: Type.Optional(Type.Enum(['server_order', 'random'])),
    cursor: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    created_at: Type.Optional(Type.String({ format: 'date-time' })),
    art_url: Type.Optional(Type.String({ format: 'uri' })),
    email: Type.Optional(Type.String({ format: 'email' })),
    posts: Type.Optional(Type.Array(Type.Object({ post_id: Type.Integer() }), { maxItems: 2 })),
    owner: Type.Optional(Type.Union([Type.Object({ handle: Type.String() }), Type.Null()])),
  },
  { additionalProperties: false },
);
type Request = Static<typeof Request>;
const v = compileValidator<Request>(Request);
const KEY = '8f0c1c9e-1b1e-4c1a-9f0e-3c1e2b1a0d9f';
const ok: Request = { request_id: 'r1', player_key: KEY };

describe('compileValidator', () => {
  it('accepts a valid value and narrows its type', () => {
    const value: unknown = { ...ok, limit: 50, channel: 'all', cursor: null, created_at: '2024-01-01T00:00:00Z', art_url: 'https://x.test/a.png', email: 'a@b.co' };
    expect(v.check(value)).toBe(true);
    expect(v.issues(value)).toEqual([]);
    expect(v.explain(value)).toBe('');
    expect(v.schema).toBe(Request);
  });

  it('names each field in issues and explain', () => {
    const value = { player_key: KEY, limit: 51 };
    expect(v.check(value)).toBe(false);
    expect(v.issues(value)).toEqual([
      { pointer: '/request_id', message: 'is required' },
      { pointer: '/limit', message: 'must be <= 50' },
    ]);
    expect(v.explain(value)).toBe('request_id: is required; limit: must be <= 50');
    expect(v.explain(value, 'body')).toBe('body/request_id: is required; body/limit: must be <= 50');
  });

  it.each([
    ['uuid', { player_key: 'nope' }, 'player_key: must be a valid uuid'],
    ['date-time', { created_at: 'yesterday' }, 'created_at: must be a valid date-time'],
    ['uri', { art_url: 'not a uri' }, 'art_url: must be a valid uri'],
    ['email', { email: 'x' }, 'email: must be a valid email'],
  ])('checks format %s', (_f, patch, expected) => {
    expect(v.explain({ ...ok, ...patch })).toBe(expected);
  });

  it('words the common failures plainly', () => {
    expect(v.explain({ ...ok, extra: 1 })).toBe('extra: is not allowed (unknown field)');
    expect(v.explain({ ...ok, limit: '5' })).toBe('limit: must be integer');
    expect(v.explain({ ...ok, request_id: '' })).toBe('request_id: must be at least 1 characters long');
    expect(v.explain({ ...ok, channel: 'nope' })).toBe('channel: must be "all", "promoted" or "user"');
    expect(v.explain({ ...ok, sort: 'x' })).toBe('sort: must be one of "server_order", "random"');
    expect(v.explain({ ...ok, cursor: 3 })).toBe('cursor: must be string or null');
    expect(v.explain({ ...ok, posts: [{ post_id: 1 }, {}, { post_id: 'x' }] })).toBe(
      'posts/1/post_id: is required; posts/2/post_id: must be integer; posts: must have at most 2 items',
    );
    expect(v.explain(7)).toBe('value: must be object');
    expect(v.explain(null, 'body')).toBe('body: must be object');
  });

  it('explains a nullable object by the branch that fits its type', () => {
    expect(v.explain({ ...ok, owner: { handle: 3 } })).toBe('owner/handle: must be string');
    expect(v.explain({ ...ok, owner: 'x' })).toBe('owner: must be object or null');
  });

  it('explains discriminated unions by the branch whose tag matches', () => {
    const Cmd = compileValidator(
      Type.Union([
        Type.Object({ command_type: Type.Literal('show_artwork'), post_id: Type.Integer() }),
        Type.Object({ command_type: Type.Literal('swap_next') }),
      ]),
    );
    expect(Cmd.explain({ command_type: 'show_artwork', post_id: 'x' })).toBe('post_id: must be integer');
    expect(Cmd.explain({ command_type: 'nope' })).toBe('value: does not match any of the allowed forms');
  });

  it('checked() returns the value only when it matches, for plain and discriminated validators', () => {
    const Show = compileValidator(Type.Object({ command_type: Type.Literal('show_artwork'), post_id: Type.Integer() }));
    const Swap = compileValidator(Type.Object({ command_type: Type.Literal('swap_next') }));
    const Cmd = discriminated('command_type', { show_artwork: Show, swap_next: Swap });
    const good = { command_type: 'show_artwork', post_id: 3 };
    expect(Show.checked(good)).toBe(good);
    expect(Cmd.checked(good)).toBe(good);
    expect(Cmd.checked({ command_type: 'show_artwork', post_id: 'x' })).toBeUndefined();
    expect(Cmd.checked({ command_type: 'nope' })).toBeUndefined();
    expect(Cmd.checked(null)).toBeUndefined();
  });

  it('names the fields an if/then rule requires', () => {
    const ByUser = compileValidator({
      type: 'object',
      properties: { channel: { type: 'string' }, user_handle: { type: 'string' } },
      if: { properties: { channel: { const: 'by_user' } }, required: ['channel'] },
      then: { required: ['user_handle'] },
    } as never);
    expect(ByUser.check({ channel: 'by_user' })).toBe(false);
    expect(ByUser.explain({ channel: 'by_user' })).toBe('user_handle: is required');
    expect(ByUser.check({ channel: 'all' })).toBe(true);
  });

  it('clean() returns a copy without undeclared fields, leaving the input alone', () => {
    const Open = compileValidator(Type.Object({ a: Type.String(), n: Type.Object({ x: Type.Integer() }) }));
    const input = { a: 'x', future: true, n: { x: 1, later: 2 } };
    expect(Open.clean(input)).toEqual({ a: 'x', n: { x: 1 } });
    expect(input).toEqual({ a: 'x', future: true, n: { x: 1, later: 2 } });
  });
});

describe('memoized string formats', () => {
  it('gives the verdicts of the standard checks, for valid and invalid strings, asked twice', async () => {
    const { Format } = await import('typebox/format');
    const cases: [string, string, boolean][] = [
      ['date-time', '2026-12-03T15:21:10Z', true], ['date-time', '2026-12-03T15:21:10.123456+01:00', true],
      ['date-time', '2026-02-30T10:00:00Z', false], ['date-time', 'not a date', false], ['date-time', '', false],
      ['date', '2026-12-03', true], ['date', '2026-13-03', false], ['time', '15:21:10Z', true], ['time', '25:00:00Z', false],
      ['uuid', '123e4567-e89b-12d3-a456-426614174000', true], ['uuid', '123e4567-e89b-12d3-a456-42661417400', false],
      ['uri', 'https://example.test/a.png', true], ['uri', 'not a uri', false],
    ];
    for (const [format, value, ok] of cases) {
      const installed = Format.Get(format)!;
      expect(installed.name, format).toBe(`memoized ${format}`);
      expect(installed(value), `${format} ${value}`).toBe(ok);
      expect(installed(value), `${format} ${value} (again)`).toBe(ok);
    }
    const v = compileValidator<{ at: string; id: string; url: string }>(Type.Object({ at: Type.String({ format: 'date-time' }), id: Type.String({ format: 'uuid' }), url: Type.String({ format: 'uri' }) }));
    const good = { at: '2026-12-03T15:21:10Z', id: '123e4567-e89b-12d3-a456-426614174000', url: 'https://example.test/a.png' };
    expect(v.check(good)).toBe(true);
    expect(v.check(good)).toBe(true);
    expect(v.check({ ...good, at: '2026-02-30T10:00:00Z' })).toBe(false);
    expect(v.check({ ...good, id: 'nope' })).toBe(false);
    expect(v.explain({ ...good, url: 'not a uri' })).toMatch(/url/);
  });

  it('remembers at most its size, and the same verdicts after it forgot', () => {
    let calls = 0;
    const even = memoizeFormat('even', (s) => { calls++; return s.length % 2 === 0; }, 3);
    expect([even('ab'), even('abc'), even('ab')]).toEqual([true, false, true]);
    expect(calls).toBe(2);
    for (const s of ['a', 'bb', 'ccc', 'dddd']) even(s);
    expect(even('ab')).toBe(true); // forgotten when the map was emptied: asked again
    expect(calls).toBe(7);
  });
});
