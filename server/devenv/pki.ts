// Development PKI: the deployment CA, the broker's server certificate, and client (player)
// certificates minted for tests, all made by the server's own PKI (server/src/pki). Files under
// the given dir:
//   ca.crt, ca.key (0600), server.crt, server.key (0600), crl.pem + revoked.json (see crl.ts)
// ensureDevPki is idempotent: existing, still-valid files are kept.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  caPaths, certificateInfo, issueClientCertificate, issueServerCertificate, loadOrCreateCa, type CertificateAuthority,
} from '../src/pki/index.js';
import { ensureCrl } from './crl.js';

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
  const ca = caPaths(dir);
  return {
    dir,
    caCert: ca.cert,
    caKey: ca.key,
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    crl: join(dir, 'crl.pem'),
  };
}

function stillValid(certPath: string, marginDays = 1): boolean {
  if (!existsSync(certPath)) return false;
  try {
    return certificateInfo(readFileSync(certPath, 'utf8')).notAfter.getTime() > Date.now() + marginDays * DAY_MS;
  } catch {
    return false;
  }
}

const caCache = new Map<string, { key: string; ca: CertificateAuthority }>();
const filesOf = (dir: string) => {
  const p = caPaths(dir);
  return readFileSync(p.cert, 'utf8') + readFileSync(p.key, 'utf8');
};

/** The CA in `dir` (ca.crt + ca.key), loaded once per content of those files. Throws when they are missing. */
export async function loadCa(dir: string): Promise<CertificateAuthority> {
  const key = filesOf(dir);
  const hit = caCache.get(dir);
  if (hit && hit.key === key) return hit.ca;
  const ca = await loadOrCreateCa(dir);
  caCache.set(dir, { key, ca });
  return ca;
}

/**
 * Create (once) the dev CA, the broker's server certificate (SAN localhost, 127.0.0.1) and an
 * empty CRL under `dir`. A CA expiring within 30 days (or with a missing key) is replaced.
 * Keys are 0600 and owned by the caller; the broker runs with `user root` when started as root
 * so it can read them (see broker.ts).
 */
export async function ensureDevPki(dir: string, opts: { caName?: string } = {}): Promise<DevPki> {
  const p = pkiPaths(dir);
  mkdirSync(dir, { recursive: true });
  if (!existsSync(p.caKey) || !stillValid(p.caCert, 30)) {
    rmSync(p.caKey, { force: true });
    rmSync(p.caCert, { force: true });
    caCache.delete(dir);
  }
  const ca = await loadOrCreateCa(dir, { commonName: opts.caName ?? 'Makapix Dev CA' });
  caCache.set(dir, { key: filesOf(dir), ca });
  if (ca.created || !existsSync(p.serverKey) || !stillValid(p.serverCert, 7)) {
    const leaf = await issueServerCertificate(ca, 'localhost', [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }], { days: 825 });
    writeFileSync(p.serverKey, leaf.keyPem, { mode: 0o600 });
    writeFileSync(p.serverCert, leaf.certPem);
  }
  await ensureCrl(dir, { reset: ca.created });
  return p;
}

/** Mint a player (client) certificate with CN = `cn`, signed by the CA in `caDir`. */
export async function issueClientCert(caDir: string, cn: string, days = 365): Promise<IssuedCert> {
  const issued = await issueClientCertificate(await loadCa(caDir), cn, { days });
  return { cn, certPem: issued.certPem, keyPem: issued.keyPem, serial: issued.serialHex, notAfter: issued.notAfter };
}
