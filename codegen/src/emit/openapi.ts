import type { Loc } from '../load/spec-set.js';
import type { SchemaIndex } from '../model/schema-index.js';
import type { Model, RestOperation } from '../model/types.js';
import { GeneratedFile } from './file.js';
import { docComment, literal, pascal, propKey } from './names.js';
import { typeboxExpr } from './typebox.js';

/** generated/openapi/{routes,client,examples}.ts from the OpenAPI document. */
export function emitOpenApi(model: Model, index: SchemaIndex): GeneratedFile[] {
  const src = [model.sources.openapi];
  // x-handwritten-route operations are documented and linted, but the server registers them itself.
  const generated: Model = { ...model, rest: model.rest.filter((op) => !op.handwritten) };
  return [emitRoutes(generated, index, src), emitClient(generated, index, src), emitExamples(generated, index, src)];
}

/** The TypeBox constant for a schema place: its named schema, or a declaration made here. */
function schemaRef(index: SchemaIndex, loc: Loc, f: GeneratedFile, fallbackName: string, decls: string[] | null): string {
  const named = index.refTarget(loc)?.named ?? index.named(loc);
  if (named) return f.local(named.module, named.name);
  if (decls === null) return f.local('openapi/routes', fallbackName, { type: true });
  f.declare(fallbackName);
  const Static = f.import('typebox', 'Static', { type: true });
  decls.push(`export const ${fallbackName} = ${typeboxExpr(index, loc, f)};`, `export type ${fallbackName} = ${Static}<typeof ${fallbackName}>;`, '');
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
    decls.push(`export const ${name} = ${T}.Object({\n${props.join('\n')}\n}, { additionalProperties: false });`, `export type ${name} = ${Static}<typeof ${name}>;`, '');
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

function emitRoutes(model: Model, index: SchemaIndex, src: string[]): GeneratedFile {
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
  for (const op of model.rest) {
    const t = operationTypes(index, op, f, decls);
    const schema = [
      t.body ? `body: ${t.body}` : '',
      t.multipart ? `multipart: ${t.multipart}` : '',
      t.params ? `params: ${t.params}` : '',
      t.query ? `querystring: ${t.query}` : '',
      `response: { ${t.responses.map((r) => `${r.status}: ${r.type ?? 'null'}`).join(', ')} }`,
    ].filter(Boolean);
    routeLines.push(...docComment(`${op.method} ${op.path}${op.summary ? `: ${op.summary}` : ''}`, '  '));
    routeLines.push(`  ${op.operationId}: { operationId: ${JSON.stringify(op.operationId)}, method: '${op.method}', url: ${JSON.stringify(op.path)}, security: '${op.security}', schema: { ${schema.join(', ')} } },`);
    const replies = t.responses.map((r) => `${Reply}<${r.status}, ${r.type ?? 'null'}>`).join(' | ');
    const bodyT = t.body && t.multipart ? `${t.body} | ${t.multipart}` : t.body;
    const reqT = `${TypedRequest}<${bodyT ?? 'undefined'}, ${t.params ?? '{}'}, ${t.query ?? '{}'}>`;
    handlerLines.push(...docComment(`${op.method} ${op.path}`, '  '));
    handlerLines.push(`  ${op.operationId}(req: ${reqT}): Promise<${replies}>;`);
  }
  f.lines(decls);
  f.line('/** Every REST operation: method, URL, security and the schema of the body, params, query and every response status. */');
  f.line('export const routes = {');
  f.lines(routeLines);
  f.line(`} as const satisfies Record<string, ${RouteDef}>;`);
  f.line();
  f.line('export type OperationId = keyof typeof routes;');
  f.line();
  f.line('/** One handler per operationId; the compiler rejects a missing handler or a reply the spec does not allow. */');
  f.line('export interface Handlers {');
  f.lines(handlerLines);
  f.line('}');
  f.line();
  f.line('/** Registers every route with TypeBox validation (no coercion of bodies, no stripping, no defaults). */');
  f.line(`export function registerRoutes(app: ${FastifyInstance}, handlers: Handlers, opts?: ${RegisterOptions}): void {`);
  f.line(`  ${registerTypedRoutes}(app, Object.values(routes), handlers as unknown as Record<string, (req: never) => Promise<${Reply}<number, unknown>>>, opts);`);
  f.line('}');
  return f;
}

function emitClient(model: Model, index: SchemaIndex, src: string[]): GeneratedFile {
  const f = new GeneratedFile('openapi/client.ts', src);
  const restCall = f.runtime('restCall');
  const RestCallOptions = f.runtime('RestCallOptions', { type: true });
  const routes = f.local('openapi/routes', 'routes');
  const Handlers = f.local('openapi/routes', 'Handlers', { type: true });
  f.line('type Result<K extends keyof Handlers> = Awaited<ReturnType<Handlers[K]>> & { headers: Headers };');
  f.line();
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
    f.line(`    ${op.operationId}: (${input}, opts?: ${RestCallOptions}) => ${restCall}(baseUrl, ${routes}.${op.operationId}, input, { ...defaults, ...opts }) as Promise<Result<'${op.operationId}'>>,`);
  }
  f.line('  };');
  f.line('}');
  f.line('export type Client = ReturnType<typeof createClient>;');
  return f;
}

function emitExamples(model: Model, index: SchemaIndex, src: string[]): GeneratedFile {
  const f = new GeneratedFile('openapi/examples.ts', src);
  f.line('/** Every named example of every request body and response, by operationId, then status, then name. */');
  f.line('export const restExamples = {');
  for (const op of model.rest) {
    const t = operationTypes(index, op, f, null);
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
