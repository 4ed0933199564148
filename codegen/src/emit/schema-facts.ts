import { joinPointer } from '../load/pointer.js';
import { type Loc, locKey } from '../load/spec-set.js';
import type { SchemaIndex } from '../model/schema-index.js';
import type { GeneratedFile } from './file.js';
import { docComment, propKey } from './names.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** JSON Schema keywords that bound a value; emitted as `<Name>Bounds`. */
const BOUND_KEYS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems'];

function bounds(v: Obj): Obj | undefined {
  const out: Obj = {};
  for (const k of BOUND_KEYS) if (typeof v[k] === 'number') out[k] = v[k];
  return Object.keys(out).length ? out : undefined;
}

/** A titled enum written inline inside a named schema (e.g. QueryPostsRequest.channel -> QueryPostsChannel). */
interface InlineEnum {
  name: string;
  values: unknown[];
  description?: string;
}

/** What a named schema states beside its shape: enum values, property defaults, bounds, titled inline enums. */
export interface SchemaFacts {
  /** The schema itself is an enum: its values, in spec order. */
  values?: unknown[];
  /** Property -> its `default` (also the documentation-only default beside a `$ref`). */
  defaults?: Obj;
  /** A scalar schema: its bound keywords; an object schema: property -> the bound keywords of its inline schema. */
  bounds?: Obj;
  boundsByProperty?: boolean;
  inlineEnums: InlineEnum[];
}

/** Reads the facts of the named schema at `loc` (no `$ref` to another named schema is followed). */
export function schemaFacts(index: SchemaIndex, loc: Loc): SchemaFacts {
  const facts: SchemaFacts = { inlineEnums: [] };
  const v = index.specs.value(loc);
  if (!isObj(v) || typeof v.$ref === 'string') return facts;
  if (Array.isArray(v.enum) && v.enum.length > 1) facts.values = v.enum;
  if (isObj(v.properties)) {
    const defaults: Obj = {};
    const propBounds: Obj = {};
    for (const [p, raw] of Object.entries(v.properties)) {
      if (!isObj(raw)) continue;
      if (raw.default !== undefined) defaults[p] = raw.default;
      const b = typeof raw.$ref === 'string' ? undefined : bounds(raw);
      if (b) propBounds[p] = b;
    }
    if (Object.keys(defaults).length) facts.defaults = defaults;
    if (Object.keys(propBounds).length) {
      facts.bounds = propBounds;
      facts.boundsByProperty = true;
    }
  } else {
    facts.bounds = bounds(v);
  }
  const seen = new Set<string>();
  const walk = (at: Loc, root: boolean): void => {
    const key = locKey(at);
    if (seen.has(key)) return;
    seen.add(key);
    const s = index.specs.value(at);
    if (!isObj(s)) return;
    if (typeof s.$ref === 'string') {
      const t = index.refTarget(at);
      if (t && !t.named) walk(t.target, false);
      return;
    }
    if (!root && Array.isArray(s.enum) && s.enum.length > 1 && typeof s.title === 'string') {
      facts.inlineEnums.push({ name: s.title, values: s.enum, description: typeof s.description === 'string' ? s.description : undefined });
    }
    const child = (...segs: (string | number)[]) => walk({ file: at.file, pointer: joinPointer(at.pointer, ...segs) }, false);
    if (isObj(s.properties)) for (const p of Object.keys(s.properties)) child('properties', p);
    if (isObj(s.items)) child('items');
    for (const k of ['oneOf', 'anyOf']) if (Array.isArray(s[k])) (s[k] as unknown[]).forEach((_, i) => child(k, i));
  };
  walk(loc, true);
  return facts;
}

/** The names `emitSchemaFacts` declares for a schema, so that the file can reserve them first. */
export function factNames(name: string, facts: SchemaFacts): string[] {
  return [
    ...(facts.values ? [`${name}Values`] : []),
    ...(facts.defaults ? [`${name}Defaults`] : []),
    ...(facts.bounds ? [`${name}Bounds`] : []),
    ...facts.inlineEnums.flatMap((e) => [e.name, `${e.name}Values`]),
  ];
}

/**
 * Prints the facts of named schema `name` after its declaration:
 * `<Name>Values` (enum values, `as const`), `<Title>` + `<Title>Values` for each titled inline enum,
 * `<Name>Defaults` (property defaults the handler applies) and `<Name>Bounds` (bound keywords).
 */
export function emitSchemaFacts(file: GeneratedFile, name: string, facts: SchemaFacts, declared: Set<string>): void {
  const lit = (v: unknown) => JSON.stringify(v);
  if (facts.values) {
    file.line(`/** Every value of ${name}, in spec order. */`);
    file.line(`export const ${name}Values = [${facts.values.map(lit).join(', ')}] as const satisfies readonly ${name}[];`);
  }
  for (const e of facts.inlineEnums) {
    if (declared.has(e.name)) continue; // the same inline enum reached twice (e.g. through a shared non-named $ref)
    declared.add(e.name);
    file.line(`/** Every value of the inline enum ${e.name} (in ${name}), in spec order. */`);
    file.line(`export const ${e.name}Values = [${e.values.map(lit).join(', ')}] as const;`);
    file.lines(docComment(e.description));
    file.line(`export type ${e.name} = (typeof ${e.name}Values)[number];`);
  }
  if (facts.defaults) {
    file.line(`/** What the receiver assumes for an absent property of ${name} (the spec's \`default\`s). */`);
    const body = Object.entries(facts.defaults).map(([k, v]) => `${propKey(k)}: ${lit(v)}`).join(', ');
    file.line(`export const ${name}Defaults = { ${body} } as const satisfies Partial<${name}>;`);
  }
  if (facts.bounds) {
    file.line(`/** The bound keywords of ${name}${facts.boundsByProperty ? ' (inline properties), by property' : ''}. */`);
    file.line(`export const ${name}Bounds = ${lit(facts.bounds)} as const;`);
  }
}
