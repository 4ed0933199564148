// Certificate revocation list of the dev CA: `revoked.json` (the list of revoked serials, the dev
// environment's stand-in for the server's revoked_certificates table) and `crl.pem`, built and
// written by the server's PKI (server/src/pki/crl.ts: signed by ca.key, nextUpdate far ahead,
// the "X509 CRL" label OpenSSL reads, replaced atomically). See README.md for how the broker uses it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCrl, normalizeSerialHex, writeCrlFile } from '../src/pki/index.js';
import { loadCa } from './pki.js';

interface RevokedEntry { serial: string; revokedAt: string }

const listPath = (caDir: string) => join(caDir, 'revoked.json');
export const crlPath = (caDir: string) => join(caDir, 'crl.pem');

export function revokedSerials(caDir: string): RevokedEntry[] {
  const p = listPath(caDir);
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as RevokedEntry[]) : [];
}

/** (Re)write crl.pem from revoked.json. */
export async function writeCrl(caDir: string): Promise<string> {
  const entries = revokedSerials(caDir).map((e) => ({ serialHex: e.serial, revokedAt: new Date(e.revokedAt) }));
  const out = crlPath(caDir);
  writeCrlFile(out, await buildCrl(await loadCa(caDir), entries));
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
  const serial = normalizeSerialHex(serialHex);
  const list = revokedSerials(caDir);
  if (!list.some((e) => e.serial === serial)) {
    list.push({ serial, revokedAt: new Date().toISOString() });
    writeFileSync(listPath(caDir), `${JSON.stringify(list, null, 2)}\n`);
  }
  return writeCrl(caDir);
}
