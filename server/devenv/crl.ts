// Certificate revocation list of the dev CA: `revoked.json` (the list of revoked serials) and
// `crl.pem` (signed by ca.key, nextUpdate far ahead: an expired CRL makes OpenSSL refuse *every*
// client certificate on a listener that has `crlfile`). See README.md for how the broker uses it.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EC_ALG, loadCa } from './pki.js';

const DAY_MS = 86_400_000;

interface RevokedEntry { serial: string; revokedAt: string }

const listPath = (caDir: string) => join(caDir, 'revoked.json');
export const crlPath = (caDir: string) => join(caDir, 'crl.pem');

export function revokedSerials(caDir: string): RevokedEntry[] {
  const p = listPath(caDir);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as RevokedEntry[]) : [];
}

/** (Re)write crl.pem from revoked.json. */
export async function writeCrl(caDir: string): Promise<string> {
  const ca = await loadCa(caDir);
  const now = Date.now();
  const crl = await x509.X509CrlGenerator.create({
    issuer: ca.cert.subject,
    thisUpdate: new Date(now - 60_000),
    nextUpdate: new Date(now + 3650 * DAY_MS),
    signingAlgorithm: EC_ALG,
    signingKey: ca.key,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(ca.cert)],
    entries: revokedSerials(caDir).map((e) => ({
      serialNumber: e.serial,
      revocationDate: new Date(e.revokedAt),
      reason: x509.X509CrlReason.cessationOfOperation,
    })),
  });
  const out = crlPath(caDir);
  // @peculiar/x509 labels it "CRL"; OpenSSL (and so Mosquitto) only reads "X509 CRL".
  const pem = x509.PemConverter.encode(crl.rawData, 'X509 CRL');
  writeFileSync(`${out}.tmp`, pem);
  renameSync(`${out}.tmp`, out); // atomic: the broker never reads a half-written CRL
  return out;
}

/** Write an empty CRL if none exists (or `reset`, after a new CA was created). */
export async function ensureCrl(caDir: string, opts: { reset?: boolean } = {}): Promise<string> {
  if (opts.reset) writeFileSync(listPath(caDir), '[]\n');
  if (opts.reset || !existsSync(crlPath(caDir))) return writeCrl(caDir);
  return crlPath(caDir);
}

/** Add `serialHex` to the revoked list and rewrite crl.pem. Idempotent. */
export async function revokeSerial(caDir: string, serialHex: string): Promise<string> {
  const serial = serialHex.toLowerCase();
  const list = revokedSerials(caDir);
  if (!list.some((e) => e.serial === serial)) {
    list.push({ serial, revokedAt: new Date().toISOString() });
    writeFileSync(listPath(caDir), `${JSON.stringify(list, null, 2)}\n`);
  }
  return writeCrl(caDir);
}
