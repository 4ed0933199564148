// Device (client) certificates: CN = player_key, EKU clientAuth, signed by the deployment CA.
// Either the server generates the device key (issueClientCertificate: the device downloads key
// and certificate from /player/{key}/credentials), or the device keeps its key and sends a CSR
// (issueFromCsr when the CSR already names the player_key; csrPublicKey at provisioning, then
// issueForPublicKey at registration and renewal, when it cannot). A TLS server certificate for the
// broker's mTLS listener can come from the same CA (issueServerCertificate; the dev environment does).
// The certificates are written by leaf.ts (DER + node:crypto); @peculiar/x509 reads the CSRs.
import { isIP } from 'node:net';
import type { CertificateAuthority } from './ca.js';
import { pem } from './der.js';
import {
  certificatePem, leafIssuerOf, leafPublicKeyFromDer, leafPublicKeyFromPem, newP256KeyPair, writeLeafCertificate, type LeafPublicKey, type SubjectAltName,
} from './leaf.js';
import {
  assertSimpleCommonName, DAY_MS, PkiError, randomSerialHex, truncateToSecond, x509, type KeyAlgorithm,
} from './x509.js';

export type { SubjectAltName } from './leaf.js';

export interface IssueOptions {
  /** Validity in days (default 365). */
  days?: number;
  now?: Date;
}

export interface IssuedCertificate {
  certPem: string;
  /** Lower-case hex; the value stored in players.cert_serial and revoked_certificates.serial. */
  serialHex: string;
  /** notBefore is backdated by one minute, to tolerate clock differences between machines. */
  notBefore: Date;
  notAfter: Date;
}

export interface IssuedCertificateWithKey extends IssuedCertificate {
  /** The device's private key, PKCS#8 PEM ("PRIVATE KEY"). */
  keyPem: string;
}

const BACKDATE_MS = 60_000;

/** What the certificate is for: a device (clientAuth) or a TLS server (serverAuth, with its names). */
type Profile = { usage: 'client' } | { usage: 'server'; sans: readonly SubjectAltName[] };

function sign(
  ca: CertificateAuthority,
  cn: string,
  publicKey: LeafPublicKey,
  opts: IssueOptions,
  profile: Profile = { usage: 'client' },
  serialHex: string = randomSerialHex(),
): IssuedCertificate {
  const days = opts.days ?? 365;
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new RangeError(`certificate validity must be 1..3650 days (got ${days})`);
  const now = truncateToSecond(opts.now ?? new Date());
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const notAfter = new Date(now.getTime() + days * DAY_MS);
  const issuer = leafIssuerOf(ca);
  if (notAfter > issuer.notAfter) {
    throw new PkiError('ca_invalid', `the CA expires on ${issuer.notAfter.toISOString()}, before the requested certificate would (${notAfter.toISOString()})`);
  }
  const der = writeLeafCertificate(issuer, {
    serialHex, commonName: cn, notBefore, notAfter, publicKey, usage: profile.usage, sans: profile.usage === 'server' ? profile.sans : undefined,
  });
  return { certPem: certificatePem(der), serialHex, notBefore, notAfter };
}

/** A new P-256 key pair: the public half for the certificate, the private half as PKCS#8 PEM ("PRIVATE KEY"). */
function newDeviceKey(): { publicKey: LeafPublicKey; keyPem: string } {
  const keys = newP256KeyPair();
  return { publicKey: keys.publicKey, keyPem: pem(keys.pkcs8Der, 'PRIVATE KEY') };
}

/** Generates a P-256 key pair and a certificate for it (CN = `cn`, usually the player_key). */
export async function issueClientCertificate(ca: CertificateAuthority, cn: string, opts: IssueOptions = {}): Promise<IssuedCertificateWithKey> {
  assertSimpleCommonName(cn);
  const key = newDeviceKey();
  return { ...sign(ca, cn, key.publicKey, opts), keyPem: key.keyPem };
}

/** Common name of revocation probes (issueRevocationProbe); never a player_key (not a UUID). */
export const REVOCATION_PROBE_CN = 'makapix-crl-probe';

/**
 * A throw-away client certificate carrying the serial of a certificate that was revoked, to ask the
 * broker whether it enforces that revocation yet: the mTLS listener refuses it ("certificate
 * revoked") exactly when the CRL it has loaded lists `serialHex`. It reuses a serial on purpose, so
 * it must never leave the process: it lives for one connection attempt (CN makapix-crl-probe, valid
 * one day, its key generated here and dropped).
 */
export async function issueRevocationProbe(ca: CertificateAuthority, serialHex: string, opts: Pick<IssueOptions, 'now'> = {}): Promise<IssuedCertificateWithKey> {
  if (!/^[0-9a-f]{2,40}$/.test(serialHex)) throw new PkiError('invalid_serial', `serial ${JSON.stringify(serialHex)} is not lower-case hex`);
  const key = newDeviceKey();
  return { ...sign(ca, REVOCATION_PROBE_CN, key.publicKey, { days: 1, now: opts.now }, { usage: 'client' }, serialHex), keyPem: key.keyPem };
}

/**
 * Generates a P-256 key pair and a TLS server certificate for it (CN = `cn`, EKU serverAuth,
 * subject alternative names `sans`): the broker's certificate for its mTLS listener.
 */
export async function issueServerCertificate(
  ca: CertificateAuthority,
  cn: string,
  sans: readonly SubjectAltName[],
  opts: IssueOptions = {},
): Promise<IssuedCertificateWithKey> {
  assertSimpleCommonName(cn);
  for (const n of sans) {
    const ok = n.type === 'ip' ? isIP(n.value) !== 0 : /^[A-Za-z0-9*]([A-Za-z0-9.-]{0,252})$/.test(n.value);
    if (!ok) throw new PkiError('invalid_common_name', `subject alternative name ${n.type}:${JSON.stringify(n.value)} is not a valid ${n.type === 'ip' ? 'IP address' : 'DNS name'}`);
  }
  const key = newDeviceKey();
  return { ...sign(ca, cn, key.publicKey, opts, { usage: 'server', sans }), keyPem: key.keyPem };
}

function describeKey(alg: KeyAlgorithm): string {
  const a = alg as KeyAlgorithm & { namedCurve?: string; modulusLength?: number };
  return [a.name, a.namedCurve, a.modulusLength ? `${a.modulusLength} bits` : undefined].filter(Boolean).join(' ');
}

/** Accepted device keys: EC P-256 / P-384, RSA of 2048 bits or more. */
function assertAcceptableKey(key: x509.PublicKey): void {
  const a = key.algorithm as KeyAlgorithm & { namedCurve?: string; modulusLength?: number };
  const ok =
    (a.name === 'ECDSA' && (a.namedCurve === 'P-256' || a.namedCurve === 'P-384')) ||
    (a.name === 'RSASSA-PKCS1-v1_5' && (a.modulusLength ?? 0) >= 2048);
  if (!ok) throw new PkiError('unsupported_key', `CSR key ${describeKey(a)} is not accepted; use EC P-256 (or P-384, or RSA >= 2048 bits)`);
}

/** Reads a PEM PKCS#10 request and checks its signature with the key it contains (proof of possession). */
async function readVerifiedCsr(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem.trim());
  } catch (err) {
    throw new PkiError('invalid_csr', `the certificate signing request is not a valid PEM PKCS#10 request: ${(err as Error).message}`, { cause: err });
  }
  let verified = false;
  try {
    verified = await csr.verify();
  } catch (err) {
    throw new PkiError('invalid_csr', `the certificate signing request could not be checked: ${(err as Error).message}`, { cause: err });
  }
  if (!verified) throw new PkiError('csr_signature_invalid', 'the certificate signing request is not signed by the key it contains');
  return csr;
}

/**
 * Signs a device's PKCS#10 request. The CSR's signature must verify (the device holds the key) and
 * its subject CN must be `expectedCn` (the player_key; compared case-insensitively). The issued
 * certificate's subject is exactly `CN=<expectedCn>`, whatever else the CSR asked for.
 */
export async function issueFromCsr(
  ca: CertificateAuthority,
  csrPem: string,
  expectedCn: string,
  opts: IssueOptions = {},
): Promise<IssuedCertificate> {
  assertSimpleCommonName(expectedCn);
  const csr = await readVerifiedCsr(csrPem);
  const cns = csr.subjectName.getField('CN');
  if (cns.length !== 1 || cns[0]!.toLowerCase() !== expectedCn.toLowerCase()) {
    throw new PkiError(
      'csr_cn_mismatch',
      `the certificate signing request must have exactly one CN equal to the player key ${expectedCn}; it has ${cns.length ? cns.map((c) => JSON.stringify(c)).join(', ') : 'none'}`,
    );
  }
  assertAcceptableKey(csr.publicKey);
  return sign(ca, expectedCn, leafPublicKeyFromDer(Buffer.from(csr.publicKey.rawData), 'CSR key'), opts);
}

/**
 * The public key of a device's PKCS#10 request, as SPKI PEM ("PUBLIC KEY"), once the CSR's
 * signature verifies with it (proof of possession) and the key is accepted (EC P-256 / P-384,
 * RSA >= 2048 bits). The CSR's subject and requested extensions are ignored: at provisioning the
 * device does not know its player_key yet (issueForPublicKey sets CN = player_key later).
 */
export async function csrPublicKey(csrPem: string): Promise<string> {
  const csr = await readVerifiedCsr(csrPem);
  assertAcceptableKey(csr.publicKey);
  return csr.publicKey.toString('pem') + '\n';
}

/**
 * A certificate (CN = `cn`) for a public key the device holds the private half of: the SPKI PEM
 * returned by csrPublicKey (at registration, and again at every renewal). No key is generated.
 */
export async function issueForPublicKey(
  ca: CertificateAuthority,
  publicKeyPem: string,
  cn: string,
  opts: IssueOptions = {},
): Promise<IssuedCertificate> {
  assertSimpleCommonName(cn);
  return sign(ca, cn, leafPublicKeyFromPem(publicKeyPem, 'CSR key'), opts);
}

/** issueForPublicKey for the key of a CSR (verified by csrPublicKey), whatever the CSR's subject. */
export async function issueForCsrKey(
  ca: CertificateAuthority,
  csrPem: string,
  cn: string,
  opts: IssueOptions = {},
): Promise<IssuedCertificate> {
  return issueForPublicKey(ca, await csrPublicKey(csrPem), cn, opts);
}
