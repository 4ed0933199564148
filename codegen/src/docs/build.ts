// `make docs`: the published docs, built from spec/ into one folder (default docs/site, not
// committed): index.html (GET /docs), rest.html (GET /docs/rest), mqtt.html (GET /docs/mqtt),
// openapi.json and asyncapi.json (the resolved documents). Deterministic: the same spec gives the
// same bytes. Every page is self-contained (inline styles, no script, font or image).
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { asyncapiPage } from './asyncapi-page.js';
import { esc, infoBlock, isObj, mdInline, type Obj, page } from './html.js';
import { openapiPage, restOperations } from './openapi-page.js';
import { resolveDocuments, type ResolvedDocuments } from './resolve.js';

/** The files of the built docs, by name (what the server serves them as is server/src/docs/). */
export const DOCS_FILES = ['index.html', 'rest.html', 'mqtt.html', 'openapi.json', 'asyncapi.json'] as const;
export type DocsFile = (typeof DOCS_FILES)[number];

/** The URLs of the docs, from their operations in the OpenAPI document (tag docs). */
export interface DocsUrls { index: string; rest: string; mqtt: string; openapi: string; asyncapi: string }

function docsUrls(openapi: Obj): DocsUrls {
  const ops = restOperations(openapi);
  const url = (operationId: string): string => {
    const op = ops.find((o) => o.operationId === operationId && o.method === 'get');
    if (!op) throw new Error(`spec/openapi.yaml has no GET operation '${operationId}': the docs are served at its path`);
    return op.path;
  };
  return { index: url('getDocsIndex'), rest: url('getRestDocs'), mqtt: url('getMqttDocs'), openapi: url('getOpenApiDocument'), asyncapi: url('getAsyncApiDocument') };
}

export function renderDocs(docs: ResolvedDocuments): Record<DocsFile, string> {
  const urls = docsUrls(docs.openapi as Obj);
  return {
    'index.html': indexPage(docs, urls),
    'rest.html': openapiPage(docs.openapi as Obj, urls),
    'mqtt.html': asyncapiPage(docs.asyncapi as Obj, urls),
    'openapi.json': JSON.stringify(docs.openapi, null, 2) + '\n',
    'asyncapi.json': JSON.stringify(docs.asyncapi, null, 2) + '\n',
  };
}

/** Builds the docs of the spec under `root` into `outDir`, replacing what was there. */
export async function buildDocs(root: string, outDir: string): Promise<{ files: Record<DocsFile, number> }> {
  const files = renderDocs(await resolveDocuments(root));
  // write beside, then swap: a server reading the folder never sees half of a build
  const tmp = `${outDir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(tmp, name), text);
  mkdirSync(dirname(outDir), { recursive: true });
  rmSync(outDir, { recursive: true, force: true });
  renameSync(tmp, outDir);
  return { files: Object.fromEntries(Object.entries(files).map(([n, t]) => [n, Buffer.byteLength(t)])) as Record<DocsFile, number> };
}

function indexPage(docs: ResolvedDocuments, urls: DocsUrls): string {
  const oa = docs.openapi as Obj;
  const aa = docs.asyncapi as Obj;
  const oi = isObj(oa.info) ? oa.info : {};
  const ai = isObj(aa.info) ? aa.info : {};
  const count = (v: unknown) => (isObj(v) ? Object.keys(v).length : 0);
  const body = `<h1>Makapix Club API docs</h1>
<p>The Makapix Club player protocol: MQTT between players, web clients and the server, and the REST API beside it. Both pages are built from the contract in <code>spec/</code>.</p>
<div class="cards">
<div class="card" data-doc="rest"><h2><a href="${esc(urls.rest)}">${esc(oi.title)}</a></h2>${infoBlock(oi)}<p>${mdInline(oi.summary ?? '')}</p><p>${restOperations(oa).length} operations. OpenAPI ${esc(oa.openapi)}: <a href="${esc(urls.openapi)}">${esc(urls.openapi)}</a></p></div>
<div class="card" data-doc="mqtt"><h2><a href="${esc(urls.mqtt)}">${esc(ai.title)}</a></h2>${infoBlock(ai)}<p>${count(aa.channels)} channels, ${count(aa.operations)} operations, ${count(isObj(aa.components) ? aa.components.messages : undefined)} messages. AsyncAPI ${esc(aa.asyncapi)}: <a href="${esc(urls.asyncapi)}">${esc(urls.asyncapi)}</a></p></div>
</div>`;
  const nav = `<p><strong>API docs</strong></p><ul><li><a href="${esc(urls.rest)}">REST reference</a></li><li><a href="${esc(urls.mqtt)}">MQTT reference</a></li><li><a href="${esc(urls.openapi)}">openapi.json</a></li><li><a href="${esc(urls.asyncapi)}">asyncapi.json</a></li></ul>`;
  return page({ title: 'Makapix Club API docs', nav, body });
}
