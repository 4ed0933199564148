// @peculiar/x509 set up for Node: reflect-metadata must be loaded before the library, and the
// library must use Node's WebCrypto. Every pki module imports x509 from here.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';

// The project compiles without the DOM lib: name WebCrypto types through node:crypto.
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type KeyAlgorithm = webcrypto.KeyAlgorithm;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };

export const subtle = webcrypto.subtle;

/** The one algorithm of this PKI: ECDSA on P-256 with SHA-256. */
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export const DAY_MS = 86_400_000;

export class PkiError extends Error {
  constructor(
    readonly code:
      | 'invalid_csr'
      | 'csr_signature_invalid'
      | 'csr_cn_mismatch'
      | 'unsupported_key'
      | 'invalid_public_key'
      | 'invalid_certificate'
      | 'invalid_common_name'
      | 'invalid_serial'
      | 'ca_invalid',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PkiError';
  }
}

/** A positive random 128-bit serial as lower-case hex (first byte 0x01..0x7f: positive, no padding). */
export function randomSerialHex(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

/** Serial as stored and compared: lower-case hex without DER sign padding. */
export function normalizeSerialHex(hex: string): string {
  let h = hex.toLowerCase().replace(/[^0-9a-f]/g, '');
  while (h.length > 2 && h.startsWith('00')) h = h.slice(2);
  return h;
}

export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** A P-256 private key from PEM, PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY"), as a signing key. */
export async function importP256SigningKey(pem: string, what: string): Promise<CryptoKey> {
  let keyObject;
  try {
    keyObject = createPrivateKey(pem);
  } catch (err) {
    throw new PkiError('ca_invalid', `${what} is not a readable PEM private key: ${(err as Error).message}`, { cause: err });
  }
  if (keyObject.asymmetricKeyType !== 'ec' || keyObject.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    const detail = keyObject.asymmetricKeyType === 'ec' ? `EC ${keyObject.asymmetricKeyDetails?.namedCurve}` : keyObject.asymmetricKeyType;
    throw new PkiError('ca_invalid', `${what} must be an EC P-256 (prime256v1) key, found ${detail}`);
  }
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  return subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
}

/** Subject common names we issue: player keys (UUIDs) and simple names; nothing that needs DN escaping. */
export function assertSimpleCommonName(cn: string, allowSpaces = false): void {
  const re = allowSpaces ? /^[A-Za-z0-9._-][A-Za-z0-9 ._-]{0,63}$/ : /^[A-Za-z0-9._-]{1,64}$/;
  if (!re.test(cn)) {
    throw new PkiError('invalid_common_name', `certificate common name ${JSON.stringify(cn)} must be 1..64 letters, digits, '.', '_' or '-'${allowSpaces ? ' (or spaces)' : ''}`);
  }
}

/** Whole seconds: X.509 times have no fractions, so returned dates equal the certificate's. */
export function truncateToSecond(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}
