// Development PKI: the deployment CA, the broker's server certificate, and client (player)
// certificates minted for tests, all made by the server's own PKI (server/src/pki). Files under
// the given dir:
//   ca.crt, ca.key (0600), server.crt, server.key (0600), crl.pem + revoked.json (see crl.ts)
// ensureDevPki is idempotent: existing, still-valid files are kept.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import {
  caPaths, certificateInfo, issueClientCertificate, issueServerCertificate, loadOrCreateCa, type CertificateAuthority, type SubjectAltName,
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

/** The broker certificate's names: localhost, 127.0.0.1, then each public host (DNS name or IP; `[v6]` unbracketed), once each. */
export function brokerSans(publicHosts: readonly string[] = []): SubjectAltName[] {
  const sans: SubjectAltName[] = [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }];
  for (const raw of publicHosts) {
    const value = raw.replace(/^\[(.*)\]$/, '$1');
    const type = isIP(value) !== 0 ? 'ip' : 'dns';
    if (!sans.some((n) => n.type === type && n.value.toLowerCase() === value.toLowerCase())) sans.push({ type, value });
  }
  return sans;
}

/**
 * The subjectAltName line Node prints for these names ("DNS:localhost, IP Address:127.0.0.1").
 * (Node may print an IPv6 address in another form: such a certificate is then reissued at every
 * start, which is harmless.)
 */
function sanText(sans: readonly SubjectAltName[]): string {
  return sans.map((n) => `${n.type === 'ip' ? 'IP Address' : 'DNS'}:${n.value}`).join(', ');
}

function hasNames(certPath: string, sans: readonly SubjectAltName[]): boolean {
  try {
    const printed = new X509Certificate(readFileSync(certPath)).subjectAltName ?? '';
    const names = new Set(printed.split(', ').map((n) => n.toUpperCase()));
    return sanText(sans).split(', ').every((n) => names.has(n.toUpperCase()));
  } catch {
    return false;
  }
}

/**
 * Create (once) the dev CA, the broker's server certificate and an empty CRL under `dir`. The
 * broker certificate names localhost, 127.0.0.1 and every `publicHosts` entry (MQTT_PUBLIC_HOST:
 * devices verify the broker's name against the host they were given, as the p3a firmware does);
 * it is reissued when a name is missing. A CA expiring within 30 days (or with a missing key) is
 * replaced. Keys are 0600 and owned by the caller; the broker runs with `user root` when started
 * as root so it can read them (see broker.ts).
 */
export async function ensureDevPki(dir: string, opts: { caName?: string; publicHosts?: readonly string[] } = {}): Promise<DevPki> {
  const p = pkiPaths(dir);
  mkdirSync(dir, { recursive: true });
  if (!existsSync(p.caKey) || !stillValid(p.caCert, 30)) {
    rmSync(p.caKey, { force: true });
    rmSync(p.caCert, { force: true });
    caCache.delete(dir);
  }
  const ca = await loadOrCreateCa(dir, { commonName: opts.caName ?? 'Makapix Dev CA' });
  caCache.set(dir, { key: filesOf(dir), ca });
  const sans = brokerSans(opts.publicHosts);
  if (ca.created || !existsSync(p.serverKey) || !stillValid(p.serverCert, 7) || !hasNames(p.serverCert, sans)) {
    const leaf = await issueServerCertificate(ca, 'localhost', sans, { days: 825 });
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
