import { joinPointer } from '../load/pointer.js';
import type { Loc } from '../load/spec-set.js';
import type { SchemaIndex } from '../model/schema-index.js';
import type { GeneratedFile } from './file.js';

type Obj = Record<string, unknown>;

/** Keywords passed through to TypeBox as options (everything else is structure or dropped). */
const OPTION_KEYS = [
  'title', 'description', 'default', 'format', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum',
  'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties',
];

function options(v: Obj, extra: Obj = {}): string {
  const o: Obj = {};
  for (const k of OPTION_KEYS) if (v[k] !== undefined) o[k] = v[k];
  Object.assign(o, extra);
  return Object.keys(o).length ? JSON.stringify(o) : '';
}

function withOpts(call: string, args: string[], opts: string): string {
  return `${call}(${[...args, ...(opts ? [opts] : [])].join(', ')})`;
}

/**
 * JSON Schema (our subset) -> TypeBox expression. `$ref`s to named schemas become references to
 * their generated constants (imported through `file`); other `$ref`s are inlined.
 */
export function typeboxExpr(index: SchemaIndex, loc: Loc, file: GeneratedFile, indent = ''): string {
  const T = file.import('typebox', 'Type');
  const v = index.specs.value(loc) as Obj | boolean | undefined;
  if (v === true || v === undefined || (typeof v === 'object' && Object.keys(v).length === 0)) return `${T}.Unknown()`;
  if (v === false) return `${T}.Never()`;
  const at = (...segs: (string | number)[]): Loc => ({ file: loc.file, pointer: joinPointer(loc.pointer, ...segs) });
  if (typeof v.$ref === 'string') {
    const t = index.refTarget(loc);
    if (!t) return `${T}.Unknown()`;
    if (t.named) return file.local(t.named.module, t.named.name);
    return typeboxExpr(index, t.target, file, indent);
  }
  if (v.const !== undefined) {
    if (v.const === null) return withOpts(`${T}.Null`, [], options(v));
    return withOpts(`${T}.Literal`, [JSON.stringify(v.const)], options(v));
  }
  if (Array.isArray(v.enum)) {
    const lits = v.enum.map((e) => (e === null ? `${T}.Null()` : `${T}.Literal(${JSON.stringify(e)})`));
    return lits.length === 1 ? lits[0] : withOpts(`${T}.Union`, [`[${lits.join(', ')}]`], options(v));
  }
  if (Array.isArray(v.oneOf) || Array.isArray(v.anyOf)) {
    const key = Array.isArray(v.oneOf) ? 'oneOf' : 'anyOf';
    const members = (v[key] as unknown[]).map((_, i) => typeboxExpr(index, at(key, i), file, indent + '  '));
    return withOpts(`${T}.Union`, [`[${members.join(', ')}]`], options(v));
  }
  const types = Array.isArray(v.type) ? (v.type as string[]) : typeof v.type === 'string' ? [v.type] : [];
  if (types.length > 1) {
    const members = types.map((t) => single(t, false));
    return withOpts(`${T}.Union`, [`[${members.join(', ')}]`], options({ title: v.title, description: v.description, default: v.default }));
  }
  return single(types[0] ?? (v.properties ? 'object' : 'unknown'), true);

  function single(type: string, withOptions: boolean): string {
    const o = (extra: Obj = {}) => (withOptions ? options(v as Obj, extra) : options({ ...pick(v as Obj, type), ...extra }));
    switch (type) {
      case 'string': {
        // raw bytes (a multipart file part): contentMediaType without contentEncoding
        const obj = v as Obj;
        if (typeof obj.contentMediaType === 'string' && obj.contentEncoding === undefined) {
          return withOpts(file.runtime('Binary'), [], options({ title: obj.title, description: obj.description }));
        }
        return withOpts(`${T}.String`, [], o());
      }
      case 'integer': return withOpts(`${T}.Integer`, [], o());
      case 'number': return withOpts(`${T}.Number`, [], o());
      case 'boolean': return withOpts(`${T}.Boolean`, [], o());
      case 'null': return `${T}.Null()`;
      case 'array': return withOpts(`${T}.Array`, [(v as Obj).items ? typeboxExpr(index, at('items'), file, indent) : `${T}.Unknown()`], o());
      case 'object': {
        const obj = v as Obj;
        const required = new Set(Array.isArray(obj.required) ? (obj.required as string[]) : []);
        const props = Object.keys((obj.properties as Obj) ?? {}).map((p) => {
          const e = typeboxExpr(index, at('properties', p), file, indent + '  ');
          const key = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(p) ? p : JSON.stringify(p);
          return `${indent}  ${key}: ${required.has(p) ? e : `${T}.Optional(${e})`},`;
        });
        const extra: Obj = {};
        if (obj.additionalProperties === false) extra.additionalProperties = false;
        const body = props.length ? `{\n${props.join('\n')}\n${indent}}` : '{}';
        return withOpts(`${T}.Object`, [body], o(extra));
      }
      default: return `${T}.Unknown()`;
    }
  }
}

/** For a `type: [x, 'null']` member: only the keywords that apply to that member type. */
function pick(v: Obj, type: string): Obj {
  const byType: Record<string, string[]> = {
    string: ['format', 'pattern', 'minLength', 'maxLength'],
    integer: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'],
    number: ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'],
    array: ['minItems', 'maxItems', 'uniqueItems'],
  };
  const o: Obj = {};
  for (const k of byType[type] ?? []) if (v[k] !== undefined) o[k] = v[k];
  return o;
}
