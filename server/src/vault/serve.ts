// Serving the vault: GET and HEAD `<routePrefix>/<aa>/<bb>/<storage_key>.<ext>` on the API's Fastify
// app (spec: getVaultArtwork / headVaultArtwork, x-handwritten-route: its path is a setting and it
// answers bytes). A file is served only when the path is exactly the firmware's rule for a key whose
// row exists and whose post is not deleted; anything else is 404 (the path never reaches the
// filesystem unless it parsed as an object name).
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { restErrorHandler } from '#runtime/v1';
import { handwrittenRoutes, restError } from '@makapix/contract/openapi/routes';
import type { Sql } from '../db/index.js';
import { findServableObject } from '../db/vault-objects.js';
import { CONTENT_TYPES } from './formats.js';
import { parseRange } from './range.js';
import { parseObjectPath } from './shard.js';
import type { Vault } from './vault.js';

export const VAULT_CACHE_CONTROL = 'public, max-age=31536000, immutable';

interface VaultParams {
  shard_1: string;
  shard_2: string;
  artwork_file: string;
}

export function registerVaultRoutes(app: FastifyInstance, deps: { vault: Vault; sql: Sql }): void {
  const { vault, sql } = deps;
  app.route<{ Params: VaultParams }>({
    method: ['GET', 'HEAD'],
    url: `${vault.settings.routePrefix}/:shard_1/:shard_2/:artwork_file`,
    errorHandler: restErrorHandler(handwrittenRoutes.getVaultArtwork.errors) as never,
    handler: async (req, reply) => serve(req, reply),
  });

  async function serve(req: FastifyRequest<{ Params: VaultParams }>, reply: FastifyReply): Promise<unknown> {
    const notFound = () => restError('getVaultArtwork', 404, 'not_found', `No artwork at ${req.url.split('?')[0]}`);
    const { shard_1, shard_2, artwork_file } = req.params;
    const address = parseObjectPath(shard_1, shard_2, artwork_file);
    if (!address) throw notFound();
    const row = await findServableObject(sql, address.storageKey);
    if (!row || row.native_format !== address.format) throw notFound();

    const etag = `"${row.sha256}"`;
    void reply.header('etag', etag).header('cache-control', VAULT_CACHE_CONTROL).header('accept-ranges', 'bytes');
    if (etagMatches(req.headers['if-none-match'], etag)) return reply.code(304).send();

    const size = row.byte_size;
    const ifRange = req.headers['if-range'];
    const wanted = ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, size) : { kind: 'whole' as const };
    if (wanted.kind === 'unsatisfiable') {
      throw restError('getVaultArtwork', 416, 'invalid_request', `Range: ${req.headers.range} is outside the ${size}-byte file`, { 'content-range': `bytes */${size}` });
    }
    const range = wanted.kind === 'partial' ? wanted.range : undefined;
    void reply.header('content-type', CONTENT_TYPES[row.native_format]).header('x-content-type-options', 'nosniff');
    void reply.header('content-length', String(range ? range.end - range.start + 1 : size));
    if (range) void reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${size}`);
    if (req.method === 'HEAD') return reply.send();

    const stream = await vault.store.read(address.name, range);
    if (!stream) {
      req.log.warn({ object: address.name }, 'vault: a recorded file is missing from the store');
      reply.removeHeader('content-length');
      throw notFound();
    }
    return reply.send(stream);
  }
}

/** If-None-Match: `*` or a list of entity tags, compared weakly (a W/ prefix is ignored). */
function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
