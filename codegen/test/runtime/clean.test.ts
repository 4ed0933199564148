// The compiled cleaner gives what TypeBox's Value.Clean gives on a clone, for hand-picked schemas
// and for every message schema and example of the spec with unknown fields added at every level.
import { Type, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import * as channels from '@makapix/contract/asyncapi/channels';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import { compileCleaner } from '../../runtime/clean.js';

const reference = (schema: TSchema, value: unknown) => Value.Clean(schema, Value.Clone(value));

const A = Type.Object({ k: Type.Literal('a'), x: Type.String() });
const B = Type.Object({ k: Type.Literal('b'), y: Type.Integer() });
const table: Array<[string, TSchema, unknown]> = [
  ['extra field dropped', Type.Object({ a: Type.String() }), { a: 'x', b: 1 }],
  ['additionalProperties true keeps extras', Type.Object({ a: Type.String() }, { additionalProperties: true }), { a: 'x', b: { c: 1 } }],
  ['additionalProperties schema cleans extras', Type.Object({}, { additionalProperties: Type.Object({ q: Type.Integer() }) }), { a: { q: 1, r: 2 } }],
  ['nullable scalar', Type.Object({ a: Type.Optional(Type.Union([Type.String(), Type.Null()])) }), { a: null, b: 1 }],
  ['union: the matching branch', Type.Union([A, B]), { k: 'b', y: 1, z: 2 }],
  ['union: no branch matches, unchanged', Type.Union([A, B]), { k: 'b', y: 'bad', z: 2 }],
  ['array of objects, a wrong item kept', Type.Object({ l: Type.Array(Type.Object({ q: Type.Integer() })) }), { l: [{ q: 1, r: 2 }, 5] }],
  ['object expected, string kept', Type.Object({ o: Type.Object({ q: Type.Integer() }) }), { o: 'str' }],
  ['nullable object', Type.Object({ o: Type.Union([Type.Object({ q: Type.Integer() }), Type.Null()]) }), { o: { q: 1, r: 2 } }],
  ['not an object at all', Type.Object({ a: Type.String() }), [1, 2]],
  ['scalar', Type.Integer(), 5],
];

/** The value with an unknown field added to every object in it. */
function withExtras(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withExtras);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = { zz_unknown: { nested: [1, { x: 2 }] } };
  for (const [k, v] of Object.entries(value)) out[k] = withExtras(v);
  return out;
}

describe('compileCleaner', () => {
  it.each(table)('%s', (_name, schema, value) => {
    expect(compileCleaner(schema)(value)).toEqual(reference(schema, value));
  });

  it('returns a copy: the input is not changed and shares no object with the output', () => {
    const schema = Type.Object({ o: Type.Object({ q: Type.Integer() }), l: Type.Array(Type.Object({ q: Type.Integer() })) });
    const input = { o: { q: 1, r: 2 }, l: [{ q: 1 }], s: 1 };
    const out = compileCleaner(schema)(input) as typeof input;
    expect(input).toEqual({ o: { q: 1, r: 2 }, l: [{ q: 1 }], s: 1 });
    expect(out.o).not.toBe(input.o);
    expect(out.l[0]).not.toBe(input.l[0]);
  });

  const messages = Object.entries(messageExamples) as Array<[string, Record<string, unknown>]>;
  it.each(messages)('matches Value.Clean on every %s example with unknown fields at every level', (message, examples) => {
    const validator = (channels as Record<string, unknown>)[`${message}Validator`] as { schema: TSchema; clean(v: unknown): unknown; check(v: unknown): boolean };
    expect(validator, `${message}Validator`).toBeDefined();
    for (const [name, example] of Object.entries(examples)) {
      const dirty = withExtras(example);
      const cleaned = validator.clean(dirty);
      expect(cleaned, `${message}.${name}`).toEqual(reference(validator.schema, dirty));
      expect(validator.check(cleaned), `${message}.${name}`).toBe(true);
    }
  });

  it('cleans through the discriminated request validator', () => {
    const dirty = withExtras(messageExamples.QueryPostsRequest.all_default);
    expect(channels.PlayerRequestMessageValidator.clean(dirty)).toEqual(messageExamples.QueryPostsRequest.all_default);
  });
});
