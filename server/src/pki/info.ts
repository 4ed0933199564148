// What the server needs to know about a certificate PEM (its own, a device's, the CA's).
import { X509Certificate as NodeX509 } from 'node:crypto';
import { normalizeSerialHex, PkiError, x509 } from './x509.js';

export interface CertificateInfo {
  /** Lower-case hex without sign padding. */
  serialHex: string;
  /** First subject CN, or null. */
  commonName: string | null;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  /** Extended key usage OIDs (empty when the extension is absent). */
  extendedKeyUsages: string[];
  /** True when the EKU extension lists clientAuth. */
  clientAuth: boolean;
  /** SHA-256 fingerprint, colon-separated upper-case hex (as openssl prints it). */
  fingerprintSha256: string;
}

export function certificateInfo(pem: string): CertificateInfo {
  let cert: x509.X509Certificate;
  let fingerprintSha256: string;
  try {
    cert = new x509.X509Certificate(pem.trim());
    fingerprintSha256 = new NodeX509(pem).fingerprint256;
  } catch (err) {
    throw new PkiError('invalid_certificate', `not a readable PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const extendedKeyUsages = (eku?.usages ?? []).map(String);
  return {
    serialHex: normalizeSerialHex(cert.serialNumber),
    commonName: cert.subjectName.getField('CN')[0] ?? null,
    subject: cert.subject,
    issuer: cert.issuer,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    isCa: cert.getExtension(x509.BasicConstraintsExtension)?.ca ?? false,
    extendedKeyUsages,
    clientAuth: extendedKeyUsages.includes(x509.ExtendedKeyUsage.clientAuth),
    fingerprintSha256,
  };
}
