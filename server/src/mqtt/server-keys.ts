// Keys the MQTT side derives from the server secret (config.auth.jwtSecret), one per purpose, so
// that a value made for one purpose (a cursor signature, a viewer hash) is useless for another.
import { createHmac } from 'node:crypto';

export interface ServerKeys {
  /** Signs pagination cursors. */
  cursor: Buffer;
  /** Hashes viewer identities in view_events. */
  viewer: Buffer;
  /** Hashes (player_key, request_id) into view_events.dedupe_key. */
  dedupe: Buffer;
}

function derive(secret: Buffer, label: string): Buffer {
  return createHmac('sha256', secret).update(`makapix/mqtt/${label}/v1`).digest();
}

export function deriveServerKeys(secret: Buffer): ServerKeys {
  if (secret.length < 32) throw new Error('the server secret must be at least 32 bytes');
  return { cursor: derive(secret, 'cursor'), viewer: derive(secret, 'viewer'), dedupe: derive(secret, 'dedupe') };
}

/** Hex HMAC-SHA256 of the parts (joined with NUL, which none of them can contain). */
export function keyedHash(key: Buffer, ...parts: string[]): string {
  return createHmac('sha256', key).update(parts.join('\u0000')).digest('hex');
}
