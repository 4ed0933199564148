import type { Loc } from '../load/spec-set.js';
import type { SchemaIndex } from '../model/schema-index.js';
import type { Model, RestOperation } from '../model/types.js';
import { GeneratedFile, provenance } from './file.js';
import { docComment, literal, pascal, propKey } from './names.js';
import { typeboxExpr } from './typebox.js';

/** generated/openapi/{routes,client,examples}.ts from the OpenAPI document. */
export function emitOpenApi(model: Model, index: SchemaIndex): GeneratedFile[] {
  const src = [model.sources.openapi];
  // x-handwritten-route operations are documented and linted, but the server registers them itself.
  const generated: Model = { ...model, rest: model.rest.filter((op) => !op.handwritten) };
  const handwritten = model.rest.filter((op) => op.handwritten);
  return [emitRoutes(generated, index, src, handwritten), emitClient(generated, index, src), emitExamples(generated, index, src)];
}

/** The TypeBox constant for a schema place: its named schema, or a declaration made here. */
function schemaRef(index: SchemaIndex, loc: Loc, f: GeneratedFile, fallbackName: string, decls: string[] | null): string {
  const named = index.refTarget(loc)?.named ?? index.named(loc);
  if (named) return f.local(named.module, named.name);
  if (decls === null) return f.local('openapi/routes', fallbackName, { type: true });
  f.declare(fallbackName);
  const Static = f.import('typebox', 'Static', { type: true });
  decls.push(`// from ${provenance(loc)}`, `export const ${fallbackName} = ${typeboxExpr(index, loc, f)};`, `export type ${fallbackName} = ${Static}<typeof ${fallbackName}>;`, '');
  return fallbackName;
}

interface OpTypes {
  body?: string;
  /** The multipart/form-data alternative of the body (a second content type). */
  multipart?: string;
  params?: string;
  query?: string;
  responses: { status: number; type: string | null }[];
}

function operationTypes(index: SchemaIndex, op: RestOperation, f: GeneratedFile, decls: string[] | null): OpTypes {
  const P = pascal(op.operationId);
  const obj = (name: string, list: RestOperation['params']) => {
    if (list.length === 0) return undefined;
    if (decls === null) return f.local('openapi/routes', name, { type: true });
    const T = f.import('typebox', 'Type');
    const Static = f.import('typebox', 'Static', { type: true });
    f.declare(name);
    const props = list.map((p) => {
      const e = schemaRef(index, p.schema, f, `${name}${pascal(p.name)}`, decls);
      return `  ${propKey(p.name)}: ${p.required ? e : `${T}.Optional(${e})`},`;
    });
    decls.push(`// from ${provenance(op.loc)}`, `export const ${name} = ${T}.Object({\n${props.join('\n')}\n}, { additionalProperties: false });`, `export type ${name} = ${Static}<typeof ${name}>;`, '');
    return name;
  };
  return {
    params: obj(`${P}Params`, op.params.filter((p) => p.in === 'path')),
    query: obj(`${P}Query`, op.params.filter((p) => p.in === 'query')),
    body: op.body ? schemaRef(index, op.body.schema, f, `${P}Body`, decls) : undefined,
    multipart: op.body?.multipart ? schemaRef(index, op.body.multipart.schema, f, `${P}Multipart`, decls) : undefined,
    responses: op.responses.map((r) => ({ status: r.status, type: r.schema ? schemaRef(index, r.schema, f, `${P}Response${r.status}`, decls) : null })),
  };
}

function emitRoutes(model: Model, index: SchemaIndex, src: string[], handwritten: RestOperation[]): GeneratedFile {
  const f = new GeneratedFile('openapi/routes.ts', src);
  const RouteDef = f.runtime('RouteDef', { type: true });
  const Reply = f.runtime('Reply', { type: true });
  const TypedRequest = f.runtime('TypedRequest', { type: true });
  const RegisterOptions = f.runtime('RegisterOptions', { type: true });
  const registerTypedRoutes = f.runtime('registerTypedRoutes');
  const FastifyInstance = f.import('fastify', 'FastifyInstance', { type: true });
  const decls: string[] = [];
  const routeLines: string[] = [];
  const handlerLines: string[] = [];
  const errorsOf = new Map<string, { status: number; codes: string[] }[]>();
  const RestErrorT = model.schemas.find((x) => x.name === 'RestError');
  for (const op of model.rest) {
    const t = operationTypes(index, op, f, decls);
    const errors = restErrors(index, op);
    errorsOf.set(op.operationId, errors);
    const schema = [
      t.body ? `body: ${t.body}` : '',
      t.multipart ? `multipart: ${t.multipart}` : '',
      t.params ? `params: ${t.params}` : '',
      t.query ? `querystring: ${t.query}` : '',
      `response: { ${t.responses.map((r) => `${r.status}: ${r.type ?? 'null'}`).join(', ')} }`,
    ].filter(Boolean);
    routeLines.push(`  // from ${provenance(op.loc)}`);
    routeLines.push(...docComment(`${op.method} ${op.path}${op.summary ? `: ${op.summary}` : ''}`, '  '));
    const errorTable = errors.map((e) => `${e.status}: [${e.codes.map((c) => JSON.stringify(c)).join(', ')}]`).join(', ');
    routeLines.push(`  ${op.operationId}: { operationId: ${JSON.stringify(op.operationId)}, method: '${op.method}', url: ${JSON.stringify(op.path)}, security: '${op.security}', schema: { ${schema.join(', ')} }, errors: { ${errorTable} } },`);
    const replies = t.responses.map((r) => {
      const e = errors.find((x) => x.status === r.status);
      const body = e ? `RestErrorWith<${e.codes.map((c) => JSON.stringify(c)).join(' | ')}>` : r.type ?? 'null';
      return `${Reply}<${r.status}, ${body}>`;
    }).join(' | ');
    const bodyT = t.body && t.multipart ? `${t.body} | ${t.multipart}` : t.body;
    const reqT = `${TypedRequest}<${bodyT ?? 'undefined'}, ${t.params ?? '{}'}, ${t.query ?? '{}'}>`;
    handlerLines.push(`  // from ${provenance(op.loc)}`);
    handlerLines.push(...docComment(`${op.method} ${op.path}`, '  '));
    handlerLines.push(`  ${op.operationId}(req: ${reqT}): Promise<${replies}>;`);
  }
  f.lines(decls);
  if (RestErrorT) {
    const RE = f.local(RestErrorT.module, 'RestError', { type: true });
    f.declare('RestErrorWith');
    f.fromDoc('/paths');
    f.line('/** The REST error body with its error_code narrowed to the codes an operation documents for a status. */');
    f.line(`export type RestErrorWith<C extends string> = ${RE} & { error_code: C };`);
    f.line();
  }
  f.fromDoc('/paths');
  f.line('/** Every REST operation: method, URL, security, the schema of the body, params, query and every response status, and its documented errors (status -> codes, from the examples). */');
  f.line('export const routes = {');
  f.lines(routeLines);
  f.line(`} as const satisfies Record<string, ${RouteDef}>;`);
  f.line();
  f.fromDoc('/paths');
  f.line('export type OperationId = keyof typeof routes;');
  f.line();
  // the hand-registered routes (x-handwritten-route) are held to their documented errors too
  f.fromDoc('/paths');
  f.line('/** The operations the server registers itself (x-handwritten-route): their URL and documented errors. */');
  f.line('export const handwrittenRoutes = {');
  for (const op of handwritten) {
    const errors = restErrors(index, op);
    errorsOf.set(op.operationId, errors);
    f.line(`  // from ${provenance(op.loc)}`);
    f.line(`  ${op.operationId}: { operationId: ${JSON.stringify(op.operationId)}, method: '${op.method}', url: ${JSON.stringify(op.path)}, errors: { ${errors.map((e) => `${e.status}: [${e.codes.map((c) => JSON.stringify(c)).join(', ')}]`).join(', ')} } },`);
  }
  f.line('} as const;');
  f.line();
  emitRestErrors(model, f, errorsOf);
  f.fromDoc('/paths');
  f.line('/** One handler per operationId; the compiler rejects a missing handler or a reply the spec does not allow. */');
  f.line('export interface Handlers {');
  f.lines(handlerLines);
  f.line('}');
  f.line();
  f.fromDoc('/paths');
  f.line('/** Registers every route with TypeBox validation (no coercion of bodies, no stripping, no defaults). */');
  f.line(`export function registerRoutes(app: ${FastifyInstance}, handlers: Handlers, opts?: ${RegisterOptions}): void {`);
  f.line(`  ${registerTypedRoutes}(app, Object.values(routes), handlers as unknown as Record<string, (req: never) => Promise<${Reply}<number, unknown>>>, opts);`);
  f.line('}');
  return f;
}

/** The error answers an operation documents: every RestError response, with the error codes its examples show. */
function restErrors(index: SchemaIndex, op: RestOperation): { status: number; codes: string[] }[] {
  const out: { status: number; codes: string[] }[] = [];
  for (const r of op.responses) {
    if (r.status < 400 || !r.schema || index.refTarget(r.schema)?.named?.name !== 'RestError') continue;
    const codes: string[] = [];
    for (const ex of r.examples) {
      const c = (ex.value as { error_code?: unknown } | null)?.error_code;
      if (typeof c === 'string' && !codes.includes(c)) codes.push(c);
    }
    if (codes.length) out.push({ status: r.status, codes });
  }
  return out;
}

/** Typed throws: `restError(op, status, code, message)` compiles only for a documented status and code. */
function emitRestErrors(model: Model, f: GeneratedFile, errorsOf: Map<string, { status: number; codes: string[] }[]>): void {
  const HttpError = f.runtime('HttpError');
  f.fromDoc('/paths');
  f.line('type Routes = typeof routes & typeof handwrittenRoutes;');
  f.line('/** Every operation, generated or hand-registered: what restError accepts. */');
  f.line('export type AnyOperationId = keyof Routes;');
  f.line('/** The statuses of the error answers operation(s) Op document (for several: those all of them document). */');
  f.line("export type ErrorStatus<Op extends AnyOperationId> = keyof Routes[Op]['errors'] & number;");
  f.line('/** The error codes operation(s) Op document with status S. */');
  f.line("export type ErrorCodeOf<Op extends AnyOperationId, S> = S extends ErrorStatus<Op> ? (Routes[Op]['errors'][S] extends readonly (infer C)[] ? C : never) : never;");
  f.line('/** The operations that document error code C with status S (for helpers shared by several operations). */');
  f.line('export type OperationsDocumenting<S extends number, C extends string> = { [Op in AnyOperationId]: [C] extends [ErrorCodeOf<Op, S>] ? Op : never }[AnyOperationId];');
  f.line('type DocumentedStatus<Op extends AnyOperationId, S extends number> = [S] extends [ErrorStatus<Op>] ? S : `${Op} documents no error answer with status ${S}`;');
  f.line('type DocumentedCode<Op extends AnyOperationId, S extends number, C extends string> = [C] extends [ErrorCodeOf<Op, S>] ? C : `${Op} documents no error_code ${C} with status ${S}`;');
  f.line();
  f.fromDoc('/paths');
  f.line('/**');
  f.line(' * The error to throw from the handler of operation(s) `op`: answered `status` with `{error_code: code, error: message}`.');
  f.line(' * Only a status and code the operation documents compile; a helper shared by several operations names them all.');
  f.line(' */');
  f.line(`export function restError<Op extends AnyOperationId, const S extends number, const C extends string>(op: Op | readonly Op[], status: DocumentedStatus<Op, S>, code: DocumentedCode<Op, S, C>, message: string, headers?: Record<string, string>): ${HttpError} {`);
  f.line(`  return new ${HttpError}(status as number, code, message, headers);`);
  f.line('}');
  f.line();
  const secured = model.rest.filter((op) => op.security !== 'none' && errorsOf.get(op.operationId)?.some((e) => e.status === 401 && e.codes.includes('authentication_failed')));
  if (secured.length) {
    f.fromDoc('/paths');
    f.line('/** The operations that take a bearer token (each documents 401 authentication_failed). */');
    f.line(`export const securedOperations = [${secured.map((op) => JSON.stringify(op.operationId)).join(', ')}] as const;`);
    f.line('/** The 401 answer of a secured operation (no token, a bad or expired one, an unknown user). */');
    f.line(`export function authenticationFailed(message: string): ${HttpError} {`);
    f.line("  return restError(securedOperations, 401, 'authentication_failed', message);");
    f.line('}');
    f.line();
  }
}

function emitClient(model: Model, index: SchemaIndex, src: string[]): GeneratedFile {
  const f = new GeneratedFile('openapi/client.ts', src);
  const restCall = f.runtime('restCall');
  const RestCallOptions = f.runtime('RestCallOptions', { type: true });
  const routes = f.local('openapi/routes', 'routes');
  const Handlers = f.local('openapi/routes', 'Handlers', { type: true });
  f.line('type Result<K extends keyof Handlers> = Awaited<ReturnType<Handlers[K]>> & { headers: Headers };');
  f.line();
  f.fromDoc('/paths');
  f.line('/** A typed fetch client: one method per operationId, resolving with `{status, body, headers}` for every documented status. */');
  f.line(`export function createClient(baseUrl: string, defaults: ${RestCallOptions} = {}) {`);
  f.line('  return {');
  for (const op of model.rest) {
    const t = operationTypes(index, op, f, null);
    const fields = [
      t.body ? `body: ${t.multipart ? `${t.body} | ${t.multipart}` : t.body}` : '',
      t.params ? `params: ${t.params}` : '',
      t.query ? `query?: ${t.query}` : '',
    ].filter(Boolean);
    const input = fields.length ? `input: { ${fields.join('; ')} }` : 'input: {} = {}';
    f.from(op.loc, '    ');
    f.line(`    ${op.operationId}: (${input}, opts?: ${RestCallOptions}) => ${restCall}(baseUrl, ${routes}.${op.operationId}, input, { ...defaults, ...opts }) as Promise<Result<'${op.operationId}'>>,`);
  }
  f.line('  };');
  f.line('}');
  f.line('export type Client = ReturnType<typeof createClient>;');
  return f;
}

function emitExamples(model: Model, index: SchemaIndex, src: string[]): GeneratedFile {
  const f = new GeneratedFile('openapi/examples.ts', src);
  f.fromDoc('/paths');
  f.line('/** Every named example of every request body and response, by operationId, then status, then name. */');
  f.line('export const restExamples = {');
  for (const op of model.rest) {
    const t = operationTypes(index, op, f, null);
    f.from(op.loc, '  ');
    f.line(`  ${op.operationId}: {`);
    // Multipart examples stay in the spec (linted): their file parts are placeholders, not bytes.
    if (op.body) {
      f.line('    request: {');
      for (const ex of op.body.examples) f.line(`      ${propKey(ex.name)}: ${literal(ex.value, '      ')} satisfies ${t.body} as ${t.body},`);
      f.line('    },');
    }
    f.line('    responses: {');
    for (const r of op.responses) {
      const type = t.responses.find((x) => x.status === r.status)?.type;
      if (!type || r.examples.length === 0) continue;
      f.line(`      ${r.status}: {`);
      for (const ex of r.examples) f.line(`        ${propKey(ex.name)}: ${literal(ex.value, '        ')} satisfies ${type} as ${type},`);
      f.line('      },');
    }
    f.line('    },');
    f.line('  },');
  }
  f.line('} as const;');
  return f;
}
