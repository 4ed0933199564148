// SQL about the vault's files (migrations/0006_artwork_vault.sql): recorded in the post's
// transaction, looked up when a file is served, removed with the post, and checked by the orphan sweep.
import type { NativeFormat } from '../vault/formats.js';
import type { Queryable } from './client.js';

export interface VaultObjectRow {
  storage_key: string;
  native_format: NativeFormat;
  byte_size: number;
  /** Hex. */
  sha256: string;
}

export async function insertVaultObject(sql: Queryable, o: { storageKey: string; format: NativeFormat; byteSize: number; sha256: string }): Promise<void> {
  await sql`
    insert into vault_objects (storage_key, native_format, byte_size, sha256)
    values (${o.storageKey}, ${o.format}, ${o.byteSize}, decode(${o.sha256}, 'hex'))`;
}

/** The file of a post that is not deleted, or null (what the vault may serve). */
export async function findServableObject(sql: Queryable, storageKey: string): Promise<VaultObjectRow | null> {
  const rows = await sql<VaultObjectRow[]>`
    select v.storage_key, v.native_format, v.byte_size, encode(v.sha256, 'hex') as sha256
    from vault_objects v join posts p on p.storage_key = v.storage_key
    where v.storage_key = ${storageKey} and not p.deleted`;
  return rows[0] ?? null;
}

/** Removes the row of a post's file (the file itself is removed after the commit). Returns it, or null. */
export async function deleteVaultObject(sql: Queryable, storageKey: string): Promise<VaultObjectRow | null> {
  const rows = await sql<VaultObjectRow[]>`
    delete from vault_objects where storage_key = ${storageKey}
    returning storage_key, native_format, byte_size, encode(sha256, 'hex') as sha256`;
  return rows[0] ?? null;
}

/** The recorded format of each of `storageKeys` that has a row. */
export async function recordedFormats(sql: Queryable, storageKeys: readonly string[]): Promise<Map<string, NativeFormat>> {
  if (storageKeys.length === 0) return new Map();
  const rows = await sql<{ storage_key: string; native_format: NativeFormat }[]>`
    select storage_key, native_format from vault_objects where storage_key = any(${storageKeys as string[]}::uuid[])`;
  return new Map(rows.map((r) => [r.storage_key, r.native_format]));
}
