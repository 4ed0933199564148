// The firmware's address rule (StorageShard in spec/components/identifiers.yaml): a file lives at
// `{shard}/{storage_key}.{ext}` under the vault base, where shard = `aa/bb`, level i being byte i of
// SHA-256(storage_key text) AND 0x3f as two lower-case hex digits. Players compute it themselves,
// so it can never change.
import { createHash } from 'node:crypto';
import { isNativeFormat, type NativeFormat } from './formats.js';

const STORAGE_KEY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LEVEL = /^[0-3][0-9a-f]$/;

/** `aa/bb` for a storage key (lower-case UUID text). */
export function storageShard(storageKey: string): string {
  const digest = createHash('sha256').update(storageKey, 'utf8').digest();
  const level = (i: number) => (digest[i]! & 0x3f).toString(16).padStart(2, '0');
  return `${level(0)}/${level(1)}`;
}

/** The object's name in the vault, which is also its URL path under the vault base: `aa/bb/<key>.<ext>`. */
export function objectName(storageKey: string, format: NativeFormat): string {
  if (!STORAGE_KEY.test(storageKey)) throw new Error(`not a lower-case storage key: ${JSON.stringify(storageKey)}`);
  return `${storageShard(storageKey)}/${storageKey}.${format}`;
}

export interface ObjectAddress {
  storageKey: string;
  format: NativeFormat;
  name: string;
}

/**
 * The object a request path names (`aa`, `bb`, `<key>.<ext>`), or null unless it is exactly what the
 * rule gives: lower-case key, known extension, and the shard that belongs to that key.
 */
export function parseObjectPath(level1: string, level2: string, file: string): ObjectAddress | null {
  if (!LEVEL.test(level1) || !LEVEL.test(level2)) return null;
  const dot = file.lastIndexOf('.');
  const storageKey = file.slice(0, dot);
  const ext = file.slice(dot + 1);
  if (dot < 0 || !STORAGE_KEY.test(storageKey) || !isNativeFormat(ext)) return null;
  if (storageShard(storageKey) !== `${level1}/${level2}`) return null;
  return { storageKey, format: ext, name: `${level1}/${level2}/${file}` };
}

/** The parts of an object name (for listings); null for anything that is not one. */
export function parseObjectName(name: string): ObjectAddress | null {
  const parts = name.split('/');
  return parts.length === 3 ? parseObjectPath(parts[0]!, parts[1]!, parts[2]!) : null;
}
