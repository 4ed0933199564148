import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Diagnostics } from '../diagnostics.js';
import { joinPointer } from '../load/pointer.js';
import { type Loc, locKey } from '../load/spec-set.js';
import type { SchemaIndex } from '../model/schema-index.js';
import type { Example, Model } from '../model/types.js';

type Obj = Record<string, unknown>;
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** Our rules beyond what the parsers check. Each adds diagnostics; none throws. */
export function checkModel(model: Model, index: SchemaIndex, ds: Diagnostics): void {
  const problem = (loc: Loc, rule: string, message: string, hint: string) =>
    ds.add({ rule, severity: 'error', file: loc.file.rel, ...loc.file.locate(loc.pointer), pointer: loc.pointer, message, hint });

  // every place a schema starts: named schemas, message payloads, REST params/bodies/responses
  const roots: { loc: Loc; what: string }[] = [
    ...model.schemas.map((s) => ({ loc: s.loc, what: `schema '${s.name}'` })),
    ...model.messages.map((m) => ({ loc: m.payload, what: `message '${m.name}'` })),
    ...model.rest.flatMap((op) => [
      ...op.params.map((p) => ({ loc: p.schema, what: `${op.operationId} parameter '${p.name}'` })),
      ...(op.body ? [{ loc: op.body.schema, what: `${op.operationId} request body` }] : []),
      ...(op.body?.multipart ? [{ loc: op.body.multipart.schema, what: `${op.operationId} multipart request body` }] : []),
      ...op.responses.filter((r) => r.schema).map((r) => ({ loc: r.schema!, what: `${op.operationId} response ${r.status}` })),
    ]),
  ];
  const visited = new Set<string>();
  for (const r of roots) walkSchema(r.loc, true, r.what);

  function walkSchema(loc: Loc, isRoot: boolean, what: string): void {
    const key = locKey(loc);
    if (visited.has(key)) return;
    visited.add(key);
    const v = index.specs.value(loc) as Obj | undefined;
    if (!v || typeof v !== 'object') return;
    if (typeof v.$ref === 'string') {
      const t = index.refTarget(loc);
      if (t && !t.named) walkSchema(t.target, false, what);
      return;
    }
    const named = isRoot && (index.named(loc) !== undefined || isMessagePayloadRoot(loc));
    const needsName = v.type === 'object' || (Array.isArray(v.enum) && v.enum.length > 1);
    if (needsName && !named && typeof v.title !== 'string' && !isRoot) {
      problem(loc, 'named-types', `${what}: ${v.type === 'object' ? 'inline object' : 'inline enum'} at ${loc.pointer} has no title, so generated models would call it AnonymousSchema`,
        'give it a PascalCase title, or move it to components and $ref it');
    }
    const types = Array.isArray(v.type) ? v.type : [v.type];
    if (types.includes('integer') && !Array.isArray(v.enum) && (typeof v.minimum !== 'number' || typeof v.maximum !== 'number')) {
      problem(loc, 'integer-bounds', `${what}: integer at ${loc.pointer} has no ${typeof v.minimum !== 'number' ? 'minimum' : 'maximum'}, so a value the database column cannot hold would pass validation`,
        'give it minimum and maximum (at most 2147483647 for an integer column)');
    }
    if (Array.isArray(v.oneOf)) checkOneOf(loc, v.oneOf.length, what);
    for (const k of ['oneOf', 'anyOf', 'allOf']) {
      if (Array.isArray(v[k])) (v[k] as unknown[]).forEach((_, i) => walkSchema({ file: loc.file, pointer: joinPointer(loc.pointer, k, i) }, false, what));
    }
    if (v.properties && typeof v.properties === 'object') {
      for (const p of Object.keys(v.properties)) walkSchema({ file: loc.file, pointer: joinPointer(loc.pointer, 'properties', p) }, false, what);
    }
    if (v.items && typeof v.items === 'object') walkSchema({ file: loc.file, pointer: joinPointer(loc.pointer, 'items') }, false, what);
  }

  function isMessagePayloadRoot(loc: Loc): boolean {
    return model.messages.some((m) => locKey(m.payload) === locKey(loc));
  }

  function checkOneOf(loc: Loc, n: number, what: string): void {
    const branches: Obj[] = [];
    for (let i = 0; i < n; i++) {
      const b = index.bundle({ file: loc.file, pointer: joinPointer(loc.pointer, 'oneOf', i) }) as Obj;
      branches.push(b);
    }
    const candidates = Object.keys((branches[0]?.properties as Obj) ?? {}).filter((p) =>
      branches.every((b) => {
        const prop = (b.properties as Obj | undefined)?.[p] as Obj | undefined;
        return prop && 'const' in prop && Array.isArray(b.required) && b.required.includes(p);
      }),
    );
    const ok = candidates.some((p) => new Set(branches.map((b) => JSON.stringify(((b.properties as Obj)[p] as Obj).const))).size === n);
    if (!ok) {
      problem(joinLoc(loc, 'oneOf'), 'oneof-discriminator', `${what}: oneOf at ${loc.pointer} has no required property with a distinct const value in every branch`,
        'add a required discriminator property (e.g. request_type: {const: ...}) to every branch');
    }
  }

  // every request operation has a reply
  for (const op of model.operations) {
    const ch = model.channels.find((c) => c.id === op.channel);
    if (op.action === 'receive' && ch?.params.some((p) => p.name === 'request_id') && !op.reply) {
      problem(op.loc, 'request-reply', `operation '${op.id}' receives a request but declares no reply`, 'add reply: {channel: {$ref: ...}, messages: [...]}');
    }
  }

  // every request operation lists the error codes its handler may answer (x-error-codes), from ErrorCode
  const enumOf = (name: string): string[] => {
    const s = model.schemas.find((x) => x.name === name);
    const v = s && (index.specs.value(s.loc) as Obj | undefined);
    return Array.isArray(v?.enum) ? (v.enum as unknown[]).map(String) : [];
  };
  const errorCodes = enumOf('ErrorCode');
  for (const op of model.operations) {
    if (!op.reply) continue;
    const at = joinLoc(op.loc, 'x-error-codes');
    if (op.errorCodes === undefined) {
      problem(op.loc, 'request-error-codes', `operation '${op.id}' does not list the error codes its handler may answer`,
        "add x-error-codes: {<error_code>: <when it is answered>} (an empty map {} when the handler never fails)");
      continue;
    }
    for (const { code, when } of op.errorCodes) {
      if (errorCodes.length > 0 && !errorCodes.includes(code)) {
        problem(joinLoc(at, code), 'request-error-codes', `operation '${op.id}': x-error-codes lists '${code}', which is not an ErrorCode`,
          `use one of ${errorCodes.join(', ')}, or add the code to ErrorCode in spec/components/errors.yaml`);
      } else if (when.trim() === '') {
        problem(joinLoc(at, code), 'request-error-codes', `operation '${op.id}': x-error-codes '${code}' does not say when it is answered`, 'give a short sentence: when does the handler answer this code');
      }
    }
  }

  // every REST error answer shows its error codes by example; a secured operation documents 401
  for (const op of model.rest) {
    for (const r of op.responses) {
      if (r.status < 400 || !r.schema || index.refTarget(r.schema)?.named?.name !== 'RestError') continue;
      if (!r.examples.some((ex) => typeof (ex.value as Obj | null)?.error_code === 'string')) {
        problem(r.schema, 'rest-error-codes', `${op.operationId}: error response ${r.status} shows no error_code in its examples, so no handler could answer it`,
          'add a named example {error_code, error} for every code this status is answered with');
      }
    }
    if (op.security !== 'none' && !op.responses.some((r) => r.status === 401 && r.examples.some((ex) => (ex.value as Obj | null)?.error_code === 'authentication_failed'))) {
      problem(op.loc, 'rest-error-codes', `${op.operationId}: needs a bearer token but documents no 401 authentication_failed answer`,
        "add '401': {$ref: '#/components/responses/Unauthorized'}");
    }
  }

  // every message, request body and response with content has a named example, and every example validates
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
  addFormats(ajv);
  const compiled = new Map<string, ReturnType<Ajv['compile']>>(); // many responses share one schema (RestError)
  const validateExamples = (schema: Loc, examples: Example[], what: string) => {
    let validate;
    try {
      const bundled = index.bundle(schema) as object;
      const key = JSON.stringify(bundled);
      validate = compiled.get(key) ?? ajv.compile(bundled);
      compiled.set(key, validate);
    } catch (e) {
      problem(schema, 'schema-invalid', `${what}: schema does not compile: ${(e as Error).message}`, 'fix the schema keywords');
      return;
    }
    for (const ex of examples) {
      if (validate(ex.value)) continue;
      for (const err of (validate.errors ?? []) as ErrorObject[]) {
        const at = { file: ex.loc.file, pointer: ex.loc.pointer + err.instancePath };
        problem(at, 'example-invalid', `${what} example '${ex.name}': ${err.instancePath || '/'} ${describe(err)}`,
          'make the example match the schema, or fix the schema if the example is right');
      }
    }
  };
  for (const s of model.schemas) {
    const v = index.specs.value(s.loc) as Obj | undefined;
    if (!v || !Array.isArray(v.examples) || typeof v.$ref === 'string') continue;
    const examples = (v.examples as unknown[]).map((value, i) => ({ name: String(i), value, loc: { file: s.loc.file, pointer: joinPointer(s.loc.pointer, 'examples', i) } }));
    validateExamples(s.loc, examples, `schema '${s.name}'`);
  }
  for (const m of model.messages) {
    if (m.examples.length === 0) problem(m.loc, 'example-missing', `message '${m.name}' has no example`, 'add examples: [{name, summary, payload}]');
    validateExamples(m.payload, m.examples, `message '${m.name}'`);
  }
  for (const op of model.rest) {
    if (op.body) {
      if (op.body.examples.length === 0) problem(op.body.schema, 'example-missing', `${op.operationId}: request body has no named example`, 'add examples: {name: {summary, value}}');
      validateExamples(op.body.schema, op.body.examples, `${op.operationId} request body`);
      const mp = op.body.multipart;
      if (mp) {
        if (mp.examples.length === 0) problem(mp.schema, 'example-missing', `${op.operationId}: multipart request body has no named example`, 'add examples: {name: {summary, value}}');
        validateExamples(mp.schema, mp.examples, `${op.operationId} multipart request body`);
      }
    }
    for (const r of op.responses) {
      if (!r.schema) continue;
      if (r.examples.length === 0) problem(r.schema, 'example-missing', `${op.operationId}: response ${r.status} has no named example`, 'add examples: {name: {summary, value}}');
      validateExamples(r.schema, r.examples, `${op.operationId} response ${r.status}`);
    }
  }
}

function joinLoc(loc: Loc, ...segs: string[]): Loc {
  return { file: loc.file, pointer: joinPointer(loc.pointer, ...segs) };
}

function describe(err: ErrorObject): string {
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'required': return `is missing required property '${String(p.missingProperty)}'`;
    case 'additionalProperties': return `has unknown property '${String(p.additionalProperty)}'`;
    case 'enum': return `${err.message} (${(p.allowedValues as unknown[]).map((x) => JSON.stringify(x)).join(', ')})`;
    case 'const': return `must be ${JSON.stringify(p.allowedValue)}`;
    default: return err.message ?? err.keyword;
  }
}
