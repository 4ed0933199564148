// The published docs without a browser: `make docs`'s build (codegen/src/docs) into a temporary
// folder, served by the docs routes (server/src/docs/serve.ts) on a bare Fastify app. The two
// documents are single JSON documents (only local $refs) that mean exactly what spec/ says; the
// pages carry every operation and channel and load nothing.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildDocs } from '../../../codegen/src/docs/build.js';
import { refsOf } from '../../../codegen/src/docs/resolve.js';
import { getAt } from '../../../codegen/src/load/pointer.js';
import { handwrittenRoutes } from '@makapix/contract/openapi/routes';
import { DOCS_CSP, DOCS_ROUTES, registerDocsRoutes } from '../../src/docs/serve.js';

const REPO = resolve(import.meta.dirname, '../../..');
const SPEC = { openapi: join(REPO, 'spec/openapi.yaml'), asyncapi: join(REPO, 'spec/asyncapi.yaml') };
type Obj = Record<string, unknown>;

const parsed = new Map<string, unknown>();
const yamlFile = (file: string): unknown => parsed.get(file) ?? parsed.set(file, parse(readFileSync(file, 'utf8'))).get(file);

/** Every $ref replaced by what it names: in a file (relative to it) or in `root` (local). */
function dereference(value: unknown, base: { file?: string; root: unknown }, depth = 0): unknown {
  if (depth > 64) throw new Error('dereference: too deep (a cycle?)');
  if (Array.isArray(value)) return value.map((v) => dereference(v, base, depth + 1));
  if (!value || typeof value !== 'object') return value;
  const { $ref, ...siblings } = value as Obj;
  if (typeof $ref === 'string') {
    const [path, fragment = ''] = $ref.split('#', 2);
    let next = base;
    if (path) {
      if (!base.file) throw new Error(`a resolved document has an external $ref: ${$ref}`);
      const file = resolve(dirname(base.file), path);
      next = { file, root: yamlFile(file) };
    }
    const target = getAt(next.root, fragment);
    if (target === undefined) throw new Error(`$ref ${$ref} names nothing`);
    const inner = dereference(target, next, depth + 1);
    return Object.keys(siblings).length ? { ...(inner as Obj), ...(dereference(siblings, base, depth + 1) as Obj) } : inner;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, dereference(v, base, depth + 1)]));
}

/** Every schema of spec/components/*.yaml by name, dereferenced. */
function componentSchemas(): Obj {
  const out: Obj = {};
  const folder = join(REPO, 'spec/components');
  for (const f of readdirSync(folder).filter((n) => n.endsWith('.yaml'))) {
    const file = join(folder, f);
    const root = yamlFile(file) as Obj;
    for (const [name, v] of Object.entries(root)) out[name] = dereference(v, { file, root });
  }
  return out;
}

let dir: string;
let app: FastifyInstance;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'makapix-docs-'));
  await buildDocs(REPO, join(dir, 'site'));
  app = Fastify();
  registerDocsRoutes(app, { dir: join(dir, 'site') });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

const url = (op: keyof typeof DOCS_ROUTES) => handwrittenRoutes[op].url;

describe('GET /openapi.json and /asyncapi.json', () => {
  for (const [op, kind] of [['getOpenApiDocument', 'openapi'], ['getAsyncApiDocument', 'asyncapi']] as const) {
    it(`${op}: one document with only local $refs, meaning exactly what spec/${kind}.yaml says`, async () => {
      const r = await app.inject({ method: 'GET', url: url(op) });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
      const served = r.json() as Obj;
      const refs = refsOf(served);
      expect(refs.length).toBeGreaterThan(50); // shared schemas stay shared, as components
      expect(refs.filter((x) => !x.startsWith('#'))).toEqual([]);
      for (const ref of new Set(refs)) expect(getAt(served, ref.slice(1)), ref).toBeDefined();
      // dereferenced, the served document and the YAML with its component files are the same value,
      // but for the schemas the bundler moved from spec/components/ into components.schemas
      const yaml = parse(readFileSync(SPEC[kind], 'utf8'));
      const full = dereference(served, { root: served }) as { components: { schemas: Obj } };
      const own = Object.keys(yaml.components.schemas ?? {});
      const moved = Object.keys(full.components.schemas).filter((k) => !own.includes(k));
      expect(moved.length).toBeGreaterThan(5);
      const shared = componentSchemas();
      for (const name of moved) expect(full.components.schemas[name], `components.schemas.${name}`).toEqual(shared[name]);
      for (const name of moved) delete full.components.schemas[name];
      expect(full).toEqual(dereference(yaml, { file: SPEC[kind], root: yaml }));
    });
  }
});

describe('the resolved documents load in the tools on their own', () => {
  it('the AsyncAPI parser finds no error or warning in /asyncapi.json; Redocly none in /openapi.json but the two known ones', async () => {
    const { Parser } = await import('@asyncapi/parser');
    const core = await import('@redocly/openapi-core');
    const asyncDoc = (await app.inject({ method: 'GET', url: url('getAsyncApiDocument') })).body;
    const { document, diagnostics } = await new Parser().parse(asyncDoc);
    expect(diagnostics.filter((d) => d.severity <= 1).map((d) => `${d.code}: ${d.message}`)).toEqual([]);
    expect(document?.channels().length).toBeGreaterThan(0);
    // Redocly reads the file (the one the server serves); its two health probes have no 4xx on purpose (.redocly.lint-ignore.yaml)
    const config = await core.loadConfig({ configPath: join(REPO, 'redocly.yaml') });
    const problems = await core.lint({ ref: join(dir, 'site', 'openapi.json'), config });
    expect(problems.map((p) => `${p.ruleId} ${p.location[0]?.pointer}`).sort()).toEqual([
      'operation-4xx-response #/paths/~1healthz/get/responses',
      'operation-4xx-response #/paths/~1readyz/get/responses',
    ]);
  }, 90_000);
});

describe('the docs pages', () => {
  it('are self-contained HTML with a CSP that allows no request, and show every operation and channel of the spec', async () => {
    const openapi = parse(readFileSync(SPEC.openapi, 'utf8')) as { paths: Record<string, Record<string, { operationId?: string }>> };
    const asyncapi = parse(readFileSync(SPEC.asyncapi, 'utf8')) as { channels: Record<string, { address: string }>; operations: Obj };
    const pages: Record<string, string> = {};
    for (const op of ['getDocsIndex', 'getRestDocs', 'getMqttDocs'] as const) {
      const r = await app.inject({ method: 'GET', url: url(op) });
      expect(r.statusCode, op).toBe(200);
      expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(r.headers['content-security-policy']).toBe(DOCS_CSP);
      expect(DOCS_CSP).toMatch(/default-src 'none'/);
      // nothing that loads: no script, no stylesheet or font link, no src attribute, no CSS url()
      expect(r.body).not.toMatch(/<script|<iframe|<img|<link rel="stylesheet"|\ssrc=|url\(|@import|@font-face/i);
      pages[op] = r.body;
    }
    for (const [path, item] of Object.entries(openapi.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!op?.operationId) continue;
        expect(pages.getRestDocs, op.operationId).toContain(`data-operation-id="${op.operationId}" data-method="${method.toUpperCase()}" data-path="${path}"`);
      }
    }
    for (const [id, ch] of Object.entries(asyncapi.channels)) expect(pages.getMqttDocs, id).toContain(`data-channel="${id}" data-address="${ch.address}"`);
    for (const id of Object.keys(asyncapi.operations)) expect(pages.getMqttDocs, id).toContain(`data-operation="${id}"`);
    for (const op of ['getRestDocs', 'getMqttDocs', 'getOpenApiDocument', 'getAsyncApiDocument'] as const) expect(pages.getDocsIndex).toContain(`href="${url(op)}"`);
  });

  it('HEAD answers the headers without the body', async () => {
    const r = await app.inject({ method: 'HEAD', url: url('getRestDocs') });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body).toBe('');
  });
});

describe('serving', () => {
  it('answers 404 not_found naming `make docs` when the docs were not built, and serves them once they are', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'makapix-docs-none-'));
    const bare = Fastify();
    registerDocsRoutes(bare, { dir: join(empty, 'site') });
    try {
      for (const op of Object.keys(DOCS_ROUTES) as (keyof typeof DOCS_ROUTES)[]) {
        const r = await bare.inject({ method: 'GET', url: url(op) });
        expect(r.statusCode, op).toBe(404);
        const message = 'The API docs are not built: run `make docs` (they are read from DOCS_DIR, default docs/site)';
        expect(r.json()).toEqual({ error_code: 'not_found', error: message, detail: message });
      }
      await buildDocs(REPO, join(empty, 'site'));
      expect((await bare.inject({ method: 'GET', url: url('getDocsIndex') })).statusCode).toBe(200);
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('reads each file once: a later change on disk is not seen until a restart', async () => {
    const own = mkdtempSync(join(tmpdir(), 'makapix-docs-once-'));
    const server = Fastify();
    try {
      await buildDocs(REPO, join(own, 'site'));
      registerDocsRoutes(server, { dir: join(own, 'site') });
      const first = await server.inject({ method: 'GET', url: url('getMqttDocs') });
      expect(first.statusCode).toBe(200);
      rmSync(join(own, 'site', 'mqtt.html'));
      const again = await server.inject({ method: 'GET', url: url('getMqttDocs') });
      expect(again.statusCode).toBe(200);
      expect(again.body).toBe(first.body);
    } finally {
      await server.close();
      rmSync(own, { recursive: true, force: true });
    }
  });

  it('serves only its fixed URLs: other paths under /docs are 404, nothing reaches the filesystem', async () => {
    for (const path of ['/docs/', '/docs/index.html', '/docs/rest.html', '/docs/../openapi.json', '/docs/%2e%2e/package.json', '/docs/mqtt/x']) {
      const r = await app.inject({ method: 'GET', url: path });
      if (r.statusCode === 200) expect(path, 'a normalised path to a docs URL').toBe('/docs/../openapi.json');
      else expect(r.statusCode, path).toBe(404);
    }
  });
});
