// The deployment's certificate authority: `ca.crt` + `ca.key` (PEM) in a directory.
// Existing files are reused (the dev environment writes them with openssl or @peculiar/x509; the
// key may be SEC1 "EC PRIVATE KEY" or PKCS#8 "PRIVATE KEY"); when both are absent a new EC P-256
// CA is created. Instances starting together on a shared directory end up with one CA.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertSimpleCommonName, DAY_MS, EC_P256, exportPrivateKeyPem, importP256SigningKey, PkiError, randomSerialHex,
  subtle, truncateToSecond, x509, type CryptoKey, type CryptoKeyPair,
} from './x509.js';

export interface CertificateAuthority {
  /** The CA certificate. */
  cert: x509.X509Certificate;
  /** ca.crt as PEM (what devices get as ca_pem). */
  certPem: string;
  /** The CA private key (non-extractable), for signing. */
  signingKey: CryptoKey;
  dir: string;
  /** True when this call created the CA. */
  created: boolean;
}

export interface CaOptions {
  /** Subject CN of a newly created CA (default "Makapix CA"). */
  commonName?: string;
  /** Validity of a newly created CA in days (default 3650). */
  validityDays?: number;
  now?: Date;
}

export const caPaths = (dir: string) => ({ cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') });

/** Loads the CA from `dir`, creating it when neither file exists. Throws PkiError('ca_invalid') with the reason. */
export async function loadOrCreateCa(dir: string, opts: CaOptions = {}): Promise<CertificateAuthority> {
  const p = caPaths(dir);
  const hasCert = existsSync(p.cert);
  const hasKey = existsSync(p.key);
  if (hasCert && hasKey) return loadCa(dir, false);
  if (hasCert !== hasKey) {
    // Possibly another instance is half-way through creating it: give it a moment.
    if (await waitForPair(dir)) return loadCa(dir, false);
    throw new PkiError('ca_invalid', `found ${hasCert ? p.cert : p.key} without ${hasCert ? p.key : p.cert}; restore the missing file or remove both to create a new CA`);
  }
  return createCa(dir, opts);
}

async function waitForPair(dir: string, timeoutMs = 500): Promise<boolean> {
  const p = caPaths(dir);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(p.cert) && existsSync(p.key)) return true;
    await sleep(20);
  }
  return false;
}

async function loadCa(dir: string, created: boolean, now = new Date()): Promise<CertificateAuthority> {
  const p = caPaths(dir);
  const certPem = readFileSync(p.cert, 'utf8');
  const keyPem = readFileSync(p.key, 'utf8');
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch (err) {
    throw new PkiError('ca_invalid', `${p.cert} is not a readable PEM certificate: ${(err as Error).message}`, { cause: err });
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new PkiError('ca_invalid', `${p.cert} is not a CA certificate (basicConstraints CA:TRUE missing)`);
  if (cert.notAfter.getTime() <= now.getTime()) {
    throw new PkiError('ca_invalid', `${p.cert} expired on ${cert.notAfter.toISOString()}; create a new CA (devices must then fetch new credentials)`);
  }
  const signingKey = await importP256SigningKey(keyPem, p.key);
  // The key must belong to the certificate.
  const keySpki = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  if (!Buffer.from(cert.publicKey.rawData).equals(keySpki)) {
    throw new PkiError('ca_invalid', `${p.key} does not belong to ${p.cert} (their public keys differ)`);
  }
  // Normalise line endings / trailing text: devices get exactly one PEM block.
  return { cert, certPem: cert.toString('pem') + '\n', signingKey, dir, created };
}

async function createCa(dir: string, opts: CaOptions): Promise<CertificateAuthority> {
  const commonName = opts.commonName ?? 'Makapix CA';
  assertSimpleCommonName(commonName, true);
  const now = truncateToSecond(opts.now ?? new Date());
  const keys = (await subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialHex(),
    name: `CN=${commonName}`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + (opts.validityDays ?? 3650) * DAY_MS),
    signingAlgorithm: EC_P256,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });

  mkdirSync(dir, { recursive: true });
  const p = caPaths(dir);
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const tmpKey = `${p.key}.${tag}`;
  const tmpCert = `${p.cert}.${tag}`;
  writeFileSync(tmpKey, await exportPrivateKeyPem(keys.privateKey), { mode: 0o600 });
  writeFileSync(tmpCert, cert.toString('pem') + '\n');
  try {
    // link() fails when the name exists: the first instance to link the key owns the CA.
    linkSync(tmpKey, p.key);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    unlinkSync(tmpKey);
    unlinkSync(tmpCert);
    if (!(await waitForPair(dir))) throw new PkiError('ca_invalid', `another process created ${p.key} but no ${p.cert} appeared`);
    return loadCa(dir, false);
  }
  linkSync(tmpCert, p.cert);
  unlinkSync(tmpKey);
  unlinkSync(tmpCert);
  return loadCa(dir, true, opts.now);
}
