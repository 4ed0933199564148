// Certificate revocation list of the deployment CA, for the broker's `crlfile` on the mTLS listener.
// nextUpdate defaults far ahead: OpenSSL refuses *every* client certificate once the CRL it was
// given has passed its nextUpdate, so a CRL must never go stale before it is rewritten.
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import type { CertificateAuthority } from './ca.js';
import { DAY_MS, EC_P256, normalizeSerialHex, truncateToSecond, x509 } from './x509.js';

export interface RevokedCertificate {
  /** Hex serial (any case). */
  serialHex: string;
  revokedAt: Date;
}

export interface CrlOptions {
  now?: Date;
  /** Days until nextUpdate (default 3650). */
  nextUpdateDays?: number;
}

/** A signed CRL listing `revoked`, as PEM with the "X509 CRL" label that OpenSSL/Mosquitto read. */
export async function buildCrl(ca: CertificateAuthority, revoked: readonly RevokedCertificate[], opts: CrlOptions = {}): Promise<string> {
  const now = truncateToSecond(opts.now ?? new Date());
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subjectName,
    thisUpdate: new Date(now.getTime() - 60_000),
    nextUpdate: new Date(now.getTime() + (opts.nextUpdateDays ?? 3650) * DAY_MS),
    signingAlgorithm: EC_P256,
    signingKey: ca.signingKey,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(ca.cert)],
    entries: revoked.map((r) => ({
      serialNumber: normalizeSerialHex(r.serialHex),
      revocationDate: truncateToSecond(r.revokedAt),
      reason: x509.X509CrlReason.cessationOfOperation,
    })),
  });
  // @peculiar/x509 labels the PEM "CRL"; OpenSSL only accepts "X509 CRL".
  return x509.PemConverter.encode(crl.rawData, 'X509 CRL') + '\n';
}

/**
 * Replaces the CRL file atomically (a temporary file beside it, then rename), so that the broker
 * never reads a half-written CRL. The file is world-readable (0644): the broker may run as another user.
 */
export function writeCrlFile(file: string, pem: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, pem, { mode: 0o644 });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
