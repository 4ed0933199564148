export * from './ca.js';
export * from './crl.js';
export * from './info.js';
export * from './issue.js';
export * from './renewal.js';
export { PkiError, normalizeSerialHex } from './x509.js';
