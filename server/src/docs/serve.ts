// Serving the published docs (spec: tag docs, x-handwritten-route): the files `make docs` builds
// into DOCS_DIR (codegen/src/docs/build.ts), each at its operation's URL from the generated route
// table. A file is read once, on its first request, and kept in memory; a file that is not there is
// 404 not_found naming the command that builds it (and read again on the next request). URLs map to
// a fixed list of file names: nothing from the URL reaches the filesystem.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { restErrorHandler } from '#runtime/v1';
import { handwrittenRoutes, restError } from '@makapix/contract/openapi/routes';

/** The operations and the file each serves (names as codegen/src/docs/build.ts writes them). */
export const DOCS_ROUTES = {
  getDocsIndex: 'index.html',
  getRestDocs: 'rest.html',
  getMqttDocs: 'mqtt.html',
  getOpenApiDocument: 'openapi.json',
  getAsyncApiDocument: 'asyncapi.json',
} as const;
export type DocsOperation = keyof typeof DOCS_ROUTES;

/** What the pages may load: nothing from anywhere (their styles are inline; a data: icon stops the favicon request). */
export const DOCS_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Cached {
  body: Buffer;
  contentType: string;
}

export function registerDocsRoutes(app: FastifyInstance, opts: { dir: string }): void {
  const cache = new Map<string, Cached>();

  async function load(file: string): Promise<Cached | null> {
    const hit = cache.get(file);
    if (hit) return hit;
    let body: Buffer;
    try {
      body = await readFile(join(opts.dir, file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const entry = { body, contentType: file.endsWith('.html') ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8' };
    cache.set(file, entry);
    return entry;
  }

  for (const [operationId, file] of Object.entries(DOCS_ROUTES) as [DocsOperation, string][]) {
    const route = handwrittenRoutes[operationId];
    app.route({
      method: route.method,
      url: route.url,
      errorHandler: restErrorHandler(route.errors) as never,
      handler: async (_req, reply) => {
        const doc = await load(file);
        if (!doc) {
          throw restError(operationId, 404, 'not_found', 'The API docs are not built: run `make docs` (they are read from DOCS_DIR, default docs/site)');
        }
        void reply.header('content-type', doc.contentType).header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache');
        if (file.endsWith('.html')) void reply.header('content-security-policy', DOCS_CSP);
        return reply.send(doc.body);
      },
    });
  }
}
