// Turns TypeBox's raw validation errors into short issues that name the field:
// one issue per field, unions collapsed to "must be X or Y", `if/then` explained by the
// branch that failed. Used by the MQTT validators and the REST validation errors alike.
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';

/** One problem with a value; `pointer` is a JSON pointer such as `/limit` ('' for the whole value). */
export interface ValidationIssue {
  pointer: string;
  message: string;
}

/** The fields of a TypeBox (or Ajv-like) error that we read. */
export interface RawValidationError {
  keyword: string;
  schemaPath: string;
  instancePath: string;
  params: Record<string, unknown> | object;
  message?: string;
}

/** Converts raw errors (from `Errors(value)`) to issues; `schema`/`value` let `if/then` name the missing fields. */
export function toIssues(errors: readonly RawValidationError[], schema?: unknown, value?: unknown): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  const seen = new Set<string>();
  for (const issue of collect(errors, schema, value)) {
    const key = `${issue.pointer}\u0000${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(issue);
    }
  }
  return out;
}

/** `limit: must be <= 50; request_id: is required`; `prefix` ('body') is put before each name. */
export function formatIssues(issues: readonly ValidationIssue[], prefix?: string): string {
  return issues.map((i) => `${issueName(i.pointer, prefix)}: ${i.message}`).join('; ');
}

/** The display name of a pointer: `items/0/a`, `body/name`, or the prefix (or `value`) for the root. */
export function issueName(pointer: string, prefix?: string): string {
  const path = pointer.split('/').slice(1).map(unescapePointer).join('/');
  if (prefix) return path ? `${prefix}/${path}` : prefix;
  return path || 'value';
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

const UNION_KEYWORDS = new Set(['anyOf', 'oneOf']);

function unionChildPrefix(e: RawValidationError): string {
  return `${e.schemaPath}/${e.keyword}/`;
}

function collect(errors: readonly RawValidationError[], schema: unknown, value: unknown): ValidationIssue[] {
  const unions = errors.filter((e) => UNION_KEYWORDS.has(e.keyword));
  // Outermost unions first: an error belongs to the first union whose branch prefix it has.
  const outer = unions.filter((u) => !unions.some((o) => o !== u && u.schemaPath.startsWith(unionChildPrefix(o))));
  const owned = new Set<RawValidationError>();
  const issues: ValidationIssue[] = [];
  for (const u of outer) {
    owned.add(u);
    const children = errors.filter((e) => e.schemaPath.startsWith(unionChildPrefix(u)));
    children.forEach((c) => owned.add(c));
    issues.push(...explainUnion(u, children, schema, value));
  }
  for (const e of errors) {
    if (!owned.has(e)) issues.push(...explainOne(e, errors, schema, value));
  }
  return issues;
}

function explainUnion(
  u: RawValidationError,
  children: RawValidationError[],
  schema: unknown,
  value: unknown,
): ValidationIssue[] {
  const prefix = unionChildPrefix(u);
  const branches = new Map<string, RawValidationError[]>();
  for (const c of children) {
    const index = c.schemaPath.slice(prefix.length).split('/')[0];
    const list = branches.get(index) ?? [];
    list.push(c);
    branches.set(index, list);
  }
  const isShallowReject = (e: RawValidationError, index: string): boolean =>
    e.instancePath === u.instancePath &&
    e.schemaPath === `${prefix}${index}` &&
    (e.keyword === 'type' || e.keyword === 'const' || e.keyword === 'enum');
  const candidates = [...branches].filter(([index, list]) => !list.some((e) => isShallowReject(e, index)));
  if (candidates.length === 1) return collect(candidates[0][1], schema, value);
  if (candidates.length > 1) {
    // Discriminated unions: keep the one branch whose direct fields had no const/enum mismatch.
    const depth = u.instancePath.split('/').length + 1;
    const matching = candidates.filter(
      ([, list]) => !list.some((e) => (e.keyword === 'const' || e.keyword === 'enum') && e.instancePath.split('/').length === depth),
    );
    if (matching.length === 1) return collect(matching[0][1], schema, value);
    return [{ pointer: u.instancePath, message: 'does not match any of the allowed forms' }];
  }
  const alternatives: string[] = [];
  for (const [index, list] of branches) {
    for (const e of list) {
      if (!isShallowReject(e, index)) continue;
      const p = e.params as Record<string, unknown>;
      if (e.keyword === 'const') alternatives.push(JSON.stringify(p.allowedValue));
      else if (e.keyword === 'enum') alternatives.push(...(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)));
      else alternatives.push(...([] as unknown[]).concat(p.type).map(String));
    }
  }
  const unique = [...new Set(alternatives)];
  return [{ pointer: u.instancePath, message: unique.length ? `must be ${orList(unique)}` : 'does not match any of the allowed forms' }];
}

function orList(items: string[]): string {
  return items.length === 1 ? items[0] : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function explainOne(
  e: RawValidationError,
  all: readonly RawValidationError[],
  schema: unknown,
  value: unknown,
): ValidationIssue[] {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required': {
      const names = (p.requiredProperties ?? p.missingProperty ?? []) as string[] | string;
      return ([] as string[]).concat(names).map((n) => ({ pointer: `${e.instancePath}/${escapePointer(n)}`, message: 'is required' }));
    }
    case 'additionalProperties': {
      const names = (p.additionalProperties ?? p.additionalProperty ?? []) as string[] | string;
      return ([] as string[]).concat(names).map((n) => ({ pointer: `${e.instancePath}/${escapePointer(n)}`, message: 'is not allowed (unknown field)' }));
    }
    case 'boolean':
      // TypeBox reports each unknown field twice: as `additionalProperties` and as `schema is false`.
      if (e.schemaPath.endsWith('/additionalProperties') && all.some((o) => o.keyword === 'additionalProperties')) return [];
      return [{ pointer: e.instancePath, message: 'is not allowed' }];
    case 'type':
      return [{ pointer: e.instancePath, message: `must be ${orList(([] as unknown[]).concat(p.type).map(String))}` }];
    case 'const':
      return [{ pointer: e.instancePath, message: `must be ${JSON.stringify(p.allowedValue)}` }];
    case 'enum':
      return [{ pointer: e.instancePath, message: `must be one of ${((p.allowedValues ?? []) as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` }];
    case 'minLength':
      return [{ pointer: e.instancePath, message: `must be at least ${p.limit} characters long` }];
    case 'maxLength':
      return [{ pointer: e.instancePath, message: `must be at most ${p.limit} characters long` }];
    case 'minItems':
      return [{ pointer: e.instancePath, message: `must have at least ${p.limit} items` }];
    case 'maxItems':
      return [{ pointer: e.instancePath, message: `must have at most ${p.limit} items` }];
    case 'format':
      return [{ pointer: e.instancePath, message: `must be a valid ${p.format}` }];
    case 'pattern':
      return [{ pointer: e.instancePath, message: `must match the pattern ${p.pattern}` }];
    case 'if':
      return explainConditional(e, schema, value);
    default:
      return [{ pointer: e.instancePath, message: e.message ?? `fails the ${e.keyword} rule` }];
  }
}

/** `if/then` failures carry no detail: re-validate the failing branch at that place to name the fields. */
function explainConditional(e: RawValidationError, schema: unknown, value: unknown): ValidationIssue[] {
  const branch = (e.params as { failingKeyword?: string }).failingKeyword ?? 'then';
  const fallback = [{ pointer: e.instancePath, message: `does not meet the conditional rule (${branch})` }];
  if (schema === undefined) return fallback;
  try {
    const sub = resolvePointer(schema, `${e.schemaPath.replace(/^#/, '')}/${branch}`);
    const at = resolvePointer(value, e.instancePath);
    if (sub === undefined || typeof sub !== 'object') return fallback;
    const raw = Value.Errors(sub as TSchema, at) as RawValidationError[];
    const nested = toIssues(raw, sub, at).map((i) => ({ pointer: `${e.instancePath}${i.pointer}`, message: i.message }));
    return nested.length ? nested : fallback;
  } catch {
    return fallback;
  }
}

function resolvePointer(root: unknown, pointer: string): unknown {
  let node = root;
  for (const segment of pointer.split('/').slice(1)) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[unescapePointer(segment)];
  }
  return node;
}
