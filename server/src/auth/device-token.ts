// Players' device tokens (spec DeviceToken): `mpd_` + 43 base64url characters (256 random bits).
// The server stores only the SHA-256 of a token (a random 256-bit secret needs no slow hash).
import { createHash, randomBytes } from 'node:crypto';

const DEVICE_TOKEN = /^mpd_[A-Za-z0-9_-]{43}$/;

export interface NewDeviceToken {
  /** What the device is given, once. */
  token: string;
  /** What the server keeps (players.api_token_hash). */
  hash: Buffer;
}

export function newDeviceToken(): NewDeviceToken {
  const token = `mpd_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashDeviceToken(token) };
}

/** SHA-256 of a token, or null when the string cannot be a device token (not worth a look-up). */
export function deviceTokenHash(token: string): Buffer | null {
  return DEVICE_TOKEN.test(token) ? hashDeviceToken(token) : null;
}

function hashDeviceToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
