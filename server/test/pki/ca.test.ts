import * as fs from 'node:fs';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOrCreateCa } from '../../src/pki/ca.js';
import { issueClientCertificate } from '../../src/pki/issue.js';
import { PkiError } from '../../src/pki/x509.js';
import { opensslOk, scratch } from './openssl.js';

const s = scratch();
afterAll(() => s.cleanup());

function opensslCa(dir: string, keyCmd: 'sec1' | 'pkcs8'): void {
  const key = join(dir, 'ca.key');
  if (keyCmd === 'sec1') opensslOk(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  else opensslOk(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  opensslOk(['req', '-x509', '-new', '-key', key, '-sha256', '-days', '3650', '-subj', '/CN=Makapix Test CA', '-out', join(dir, 'ca.crt'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
}

describe('loadOrCreateCa', () => {
  it('creates a P-256 CA once and reuses it', async () => {
    const dir = join(s.dir, 'new');
    const ca = await loadOrCreateCa(dir, { commonName: 'Makapix Unit CA' });
    expect(ca.created).toBe(true);
    expect(ca.cert.subject).toBe('CN=Makapix Unit CA');
    expect(statSync(join(dir, 'ca.key')).mode & 0o777).toBe(0o600);
    const text = opensslOk(['x509', '-in', join(dir, 'ca.crt'), '-noout', '-text']);
    expect(text).toMatch(/CA:TRUE/);
    expect(text).toMatch(/prime256v1/);
    expect(text).toMatch(/Certificate Sign, CRL Sign/);
    const again = await loadOrCreateCa(dir);
    expect(again.created).toBe(false);
    expect(again.certPem).toBe(ca.certPem);
  });

  it('ends with one CA when several callers create it at once', async () => {
    const dir = join(s.dir, 'race');
    const cas = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateCa(dir)));
    expect(new Set(cas.map((c) => c.certPem)).size).toBe(1);
    expect(cas.filter((c) => c.created)).toHaveLength(1);
    expect(cas[0]!.certPem).toBe(readFileSync(join(dir, 'ca.crt'), 'utf8'));
  });

  it.each(['sec1', 'pkcs8'] as const)('uses an openssl-made CA with a %s key', async (kind) => {
    const dir = join(s.dir, `openssl-${kind}`);
    mkdirSync(dir, { recursive: true });
    opensslCa(dir, kind);
    expect(readFileSync(join(dir, 'ca.key'), 'utf8')).toContain(kind === 'sec1' ? 'BEGIN EC PRIVATE KEY' : 'BEGIN PRIVATE KEY');
    const ca = await loadOrCreateCa(dir);
    expect(ca.created).toBe(false);
    const issued = await issueClientCertificate(ca, '550e8400-e29b-41d4-a716-446655440000');
    const cert = s.file(`${kind}-client.crt`, issued.certPem);
    expect(opensslOk(['verify', '-CAfile', join(dir, 'ca.crt'), cert])).toMatch(/: OK/);
  });

  it('explains what is wrong with a broken CA directory', async () => {
    const only = join(s.dir, 'only-cert');
    fs.mkdirSync(only);
    opensslCa(only, 'sec1');
    fs.unlinkSync(join(only, 'ca.key'));
    await expect(loadOrCreateCa(only)).rejects.toThrow(/ca\.crt without .*ca\.key/);

    const mismatch = join(s.dir, 'mismatch');
    fs.mkdirSync(mismatch);
    opensslCa(mismatch, 'sec1');
    opensslOk(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(mismatch, 'ca.key')]);
    const err = await loadOrCreateCa(mismatch).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PkiError);
    expect((err as PkiError).code).toBe('ca_invalid');
    expect((err as Error).message).toMatch(/does not belong to/);

    const rsa = join(s.dir, 'rsa');
    fs.mkdirSync(rsa);
    opensslOk(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', join(rsa, 'ca.key')]);
    opensslOk(['req', '-x509', '-new', '-key', join(rsa, 'ca.key'), '-days', '30', '-subj', '/CN=RSA CA', '-out', join(rsa, 'ca.crt'),
      '-addext', 'basicConstraints=critical,CA:TRUE']);
    await expect(loadOrCreateCa(rsa)).rejects.toThrow(/must be an EC P-256 \(prime256v1\) key, found rsa/);

    const leaf = join(s.dir, 'leaf');
    fs.mkdirSync(leaf);
    opensslOk(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(leaf, 'ca.key')]);
    opensslOk(['req', '-x509', '-new', '-key', join(leaf, 'ca.key'), '-days', '30', '-subj', '/CN=leaf', '-out', join(leaf, 'ca.crt'),
      '-addext', 'basicConstraints=critical,CA:FALSE']);
    await expect(loadOrCreateCa(leaf)).rejects.toThrow(/not a CA certificate/);

    const garbage = join(s.dir, 'garbage');
    fs.mkdirSync(garbage);
    writeFileSync(join(garbage, 'ca.crt'), 'hello');
    writeFileSync(join(garbage, 'ca.key'), 'world');
    await expect(loadOrCreateCa(garbage)).rejects.toThrow(/ca\.crt is not a readable PEM certificate/);
  });
});
