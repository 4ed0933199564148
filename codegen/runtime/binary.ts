// A file in a multipart body (OpenAPI: `type: string` with `contentMediaType` and no
// `contentEncoding`, i.e. raw bytes). On the server the part arrives as a Buffer; a client may send a
// Uint8Array or a Blob/File (whose name and type become the part's filename and content type).
import { Type } from 'typebox';

/** The value of a file part: bytes (what the server receives) or a Blob/File (what a browser has). */
export type BinaryValue = Uint8Array | Blob;

/** Schema of a file part: accepts only bytes (a text part with the same name fails: "must be a file part"). */
export function Binary(options: { title?: string; description?: string } = {}) {
  return Type.Refine(
    Type.Unsafe<BinaryValue>({ contentMediaType: 'application/octet-stream', ...options }),
    (value) => value instanceof Uint8Array,
    () => 'must be a file part',
  );
}

/** True for a value the REST client sends as a file part. */
export function isBinaryValue(value: unknown): value is BinaryValue {
  return value instanceof Uint8Array || (typeof Blob !== 'undefined' && value instanceof Blob);
}
