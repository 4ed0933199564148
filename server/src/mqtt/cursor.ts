// Opaque, signed pagination cursors: base64url(JSON {v, q, k}) + "." + base64url(HMAC-SHA256)[:16 bytes].
// `q` is the scope of the query that made the cursor (e.g. channel, sort, seed and handle), `k` the
// keyset position of the last item of the page. A cursor that does not verify, or whose scope is
// not the scope of the query it is used with, is refused: the player gets invalid_request instead
// of a silent restart at page one.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RequestFailure } from '#runtime/v1';
import { requestFailure } from '@makapix/contract/asyncapi/operations';
import { CursorBounds } from '@makapix/contract/components/identifiers';

const VERSION = 1;
const SIG_BYTES = 16;
/** The longest cursor the Cursor schema allows. */
export const MAX_CURSOR_LENGTH = CursorBounds.maxLength;

export type CursorPosition = readonly (string | number)[];

function sign(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body).digest().subarray(0, SIG_BYTES).toString('base64url');
}

/** Makes the cursor of a page that ends at `position`, valid only for queries of `scope`. */
export function encodeCursor(key: Buffer, scope: string, position: CursorPosition): string {
  const body = Buffer.from(JSON.stringify({ v: VERSION, q: scope, k: position }), 'utf8').toString('base64url');
  const cursor = `${body}.${sign(key, body)}`;
  if (cursor.length > MAX_CURSOR_LENGTH) throw new Error(`cursor of ${cursor.length} characters exceeds ${MAX_CURSOR_LENGTH}`);
  return cursor;
}

/**
 * The position of a cursor made for `scope`; throws invalid_request naming `cursor` (for either paged request)
 * when it is malformed, tampered with, or made for another query.
 */
export function decodeCursor(key: Buffer, scope: string, cursor: string): CursorPosition {
  const bad = (why: string): RequestFailure => requestFailure(['query_posts', 'get_comments'], 'invalid_request', `cursor: ${why}`);
  const m = /^([A-Za-z0-9_-]{1,500})\.([A-Za-z0-9_-]{22})$/.exec(cursor);
  if (!m) throw bad('invalid or expired cursor');
  // Compare the signature TEXT: base64url decoding ignores the last character's spare bits, so
  // comparing decoded bytes would accept a cursor whose last character was changed.
  const expected = Buffer.from(sign(key, m[1]!), 'ascii');
  const given = Buffer.from(m[2]!, 'ascii');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw bad('invalid or expired cursor');
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8'));
  } catch {
    throw bad('invalid or expired cursor');
  }
  if (typeof doc !== 'object' || doc === null) throw bad('invalid or expired cursor');
  const { v, q, k } = doc as { v?: unknown; q?: unknown; k?: unknown };
  if (v !== VERSION || typeof q !== 'string' || !Array.isArray(k)) throw bad('invalid or expired cursor');
  if (q !== scope) throw bad('belongs to a different query (channel, sort, seed, handle or post changed)');
  if (!k.every((x) => typeof x === 'string' || typeof x === 'number')) throw bad('invalid or expired cursor');
  return k as CursorPosition;
}
