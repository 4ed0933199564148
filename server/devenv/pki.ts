// Development PKI: a CA (EC P-256), the broker's server certificate, and client (player)
// certificates minted for tests. Files under the given dir:
//   ca.crt, ca.key (0600), server.crt, server.key (0600), crl.pem (see crl.ts)
// ensureDevPki is idempotent: existing, still-valid files are kept.
// The server has its own PKI module; this one only serves the dev environment and tests.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, randomBytes, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureCrl } from './crl.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

// tsconfig has no DOM lib: use Node's WebCrypto types.
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;

export interface DevPki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** Certificate revocation list of the CA (initially empty); see crl.ts. */
  crl: string;
}

export interface IssuedCert {
  cn: string;
  certPem: string;
  keyPem: string;
  /** Lower-case hex, as in the CRL. */
  serial: string;
  notAfter: Date;
}

export function pkiPaths(dir: string): DevPki {
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    crl: join(dir, 'crl.pem'),
  };
}

/** A positive random serial (hex, first byte below 0x80 and non-zero). */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

export async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Import a PEM EC private key (PKCS#8 or SEC1 "EC PRIVATE KEY") as a WebCrypto signing key. */
export async function importSigningKey(pem: string): Promise<CryptoKey> {
  const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']) as Promise<CryptoKey>;
}

function stillValid(certPath: string, marginDays = 1): boolean {
  if (!existsSync(certPath)) return false;
  try {
    const cert = new x509.X509Certificate(readFileSync(certPath, 'utf8'));
    return cert.notAfter.getTime() > Date.now() + marginDays * DAY_MS;
  } catch {
    return false;
  }
}

export interface LoadedCa {
  cert: x509.X509Certificate;
  key: CryptoKey;
}

const caCache = new Map<string, { mtimeKey: string; ca: LoadedCa }>();

/** Load (and cache) a CA from `dir` (ca.crt + ca.key). */
export async function loadCa(dir: string): Promise<LoadedCa> {
  const p = pkiPaths(dir);
  const certPem = readFileSync(p.caCert, 'utf8');
  const keyPem = readFileSync(p.caKey, 'utf8');
  const mtimeKey = certPem + keyPem.length;
  const hit = caCache.get(dir);
  if (hit && hit.mtimeKey === mtimeKey) return hit.ca;
  const ca = { cert: new x509.X509Certificate(certPem), key: await importSigningKey(keyPem) };
  caCache.set(dir, { mtimeKey, ca });
  return ca;
}

async function createCa(p: DevPki, commonName: string): Promise<void> {
  const keys = (await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3650 * DAY_MS),
    signingAlgorithm: EC_ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  writeFileSync(p.caKey, await exportKeyPem(keys.privateKey), { mode: 0o600 });
  writeFileSync(p.caCert, cert.toString('pem'));
  caCache.delete(p.dir);
}

interface LeafOptions {
  cn: string;
  days: number;
  usage: 'server' | 'client';
  sans?: { type: 'dns' | 'ip'; value: string }[];
}

async function issueLeaf(caDir: string, o: LeafOptions): Promise<IssuedCert> {
  const ca = await loadCa(caDir);
  const keys = (await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const serial = randomSerial();
  const notAfter = new Date(now + o.days * DAY_MS);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([o.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (o.sans?.length) extensions.push(new x509.SubjectAlternativeNameExtension(o.sans));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${o.cn}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - 60_000),
    notAfter,
    signingAlgorithm: EC_ALG,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions,
  });
  return { cn: o.cn, certPem: cert.toString('pem'), keyPem: await exportKeyPem(keys.privateKey), serial, notAfter };
}

/**
 * Create (once) the dev CA, the broker's server certificate (SAN localhost, 127.0.0.1) and an
 * empty CRL under `dir`. Keys are 0600 and owned by the caller; the broker runs with
 * `user root` when started as root so it can read them (see broker.ts).
 */
export async function ensureDevPki(dir: string, opts: { caName?: string } = {}): Promise<DevPki> {
  const p = pkiPaths(dir);
  mkdirSync(dir, { recursive: true });
  let caCreated = false;
  if (!existsSync(p.caKey) || !stillValid(p.caCert, 30)) {
    await createCa(p, opts.caName ?? 'Makapix Dev CA');
    caCreated = true;
  }
  if (caCreated || !existsSync(p.serverKey) || !stillValid(p.serverCert, 7)) {
    const leaf = await issueLeaf(dir, {
      cn: 'localhost',
      days: 825,
      usage: 'server',
      sans: [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }],
    });
    writeFileSync(p.serverKey, leaf.keyPem, { mode: 0o600 });
    writeFileSync(p.serverCert, leaf.certPem);
  }
  await ensureCrl(dir, { reset: caCreated });
  return p;
}

/** Mint a player (client) certificate with CN = `cn`, signed by the CA in `caDir`. */
export async function issueClientCert(caDir: string, cn: string, days = 365): Promise<IssuedCert> {
  return issueLeaf(caDir, { cn, days, usage: 'client' });
}
