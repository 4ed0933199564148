// Where the vault's files are kept: one small interface, so that the local filesystem (the default,
// fs-store.ts) can be replaced by an S3-compatible object store without touching its callers.
// Objects are named `aa/bb/<storage_key>.<ext>` (shard.ts), the same path players download under
// the vault base, so a bucket laid out by these names can sit behind a CDN as it is.
import type { Readable } from 'node:stream';

/** An inclusive byte range, as in `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface StoredObject {
  name: string;
  size: number;
  modifiedAt: Date;
}

export interface PutOptions {
  contentType: string;
  /** SHA-256 of the bytes, hex (an object store may keep it as metadata or a checksum). */
  sha256: string;
}

export interface VaultStore {
  /** 'filesystem', 's3', ... (for logs). */
  readonly kind: string;
  /**
   * Writes the object so that readers see all of it or none of it (never a partial file), durably
   * once it resolves. Replaces an object of the same name.
   */
  put(name: string, bytes: Uint8Array, opts: PutOptions): Promise<void>;
  /** The object's bytes (the range only, when given), or null when there is no such object. */
  read(name: string, range?: ByteRange): Promise<Readable | null>;
  /** Removes the object; no error when it is already gone. */
  delete(name: string): Promise<void>;
  /**
   * Every entry of the store, including leftovers that are not objects (an interrupted write's
   * temporary file): `name` is then not an object name, and `delete` accepts it.
   */
  list(): AsyncIterable<StoredObject>;
}
