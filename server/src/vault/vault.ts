// The vault service: its store, the public addresses of its files, and the one way a file enters it
// (written first, then recorded by the caller's transaction, removed again if that fails).
import { createHash } from 'node:crypto';
import { CONTENT_TYPES, type NativeFormat } from './formats.js';
import type { ImageLimits } from './image-limits.js';
import { objectName } from './shard.js';
import type { VaultStore } from './store.js';

export interface VaultSettings {
  /** VAULT_PUBLIC_URL without trailing slash; null: `<the listening address><routePrefix>`. */
  publicUrl: string | null;
  /** Path this server serves the vault under ('' for the root). */
  routePrefix: string;
  limits: ImageLimits;
}

export interface StoredFile {
  name: string;
  /** Hex SHA-256 of the bytes (the strong ETag). */
  sha256: string;
  byteSize: number;
}

export class Vault {
  private listenBase: string;

  /** `fallbackOrigin`: the API's address until the server listens (e.g. `http://127.0.0.1:8000`). */
  constructor(readonly store: VaultStore, readonly settings: VaultSettings, fallbackOrigin: string) {
    this.listenBase = `${fallbackOrigin.replace(/\/+$/, '')}${settings.routePrefix}`;
  }

  /** When VAULT_PUBLIC_URL is unset, art_urls point at the address the server really listens on. */
  useListenAddress(origin: string): void {
    this.listenBase = `${origin.replace(/\/+$/, '')}${this.settings.routePrefix}`;
  }

  /** The vault base URL, without trailing slash. */
  publicBase(): string {
    return this.settings.publicUrl ?? this.listenBase;
  }

  /** `<base>/<aa>/<bb>/<storage_key>.<ext>`: exactly the firmware's rule under the vault base. */
  artUrl(storageKey: string, format: NativeFormat): string {
    return `${this.publicBase()}/${objectName(storageKey, format)}`;
  }

  /**
   * Writes the file (atomically: a reader never sees part of it), then runs `record`, the
   * transaction that makes it visible (its row). If `record` fails, the file is removed before the
   * error is passed on. A crash in between leaves a file without a row: never served (serving needs
   * the row) and removed by the orphan sweep.
   */
  async storeThenRecord<T>(storageKey: string, format: NativeFormat, bytes: Uint8Array, record: (file: StoredFile) => Promise<T>): Promise<T> {
    const file: StoredFile = {
      name: objectName(storageKey, format),
      sha256: createHash('sha256').update(bytes).digest('hex'),
      byteSize: bytes.length,
    };
    await this.store.put(file.name, bytes, { contentType: CONTENT_TYPES[format], sha256: file.sha256 });
    try {
      return await record(file);
    } catch (err) {
      await this.store.delete(file.name).catch(() => {}); // the sweep removes it if this fails too
      throw err;
    }
  }
}
