import { createPrivateKey, randomUUID, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateCa, type CertificateAuthority } from '../../src/pki/ca.js';
import { certificateInfo } from '../../src/pki/info.js';
import { issueClientCertificate, issueFromCsr, issueServerCertificate } from '../../src/pki/issue.js';
import { canRenew, renewalOpensAt } from '../../src/pki/renewal.js';
import { PkiError } from '../../src/pki/x509.js';
import { openssl, opensslOk, scratch, scratchCa } from './openssl.js';

const DAY = 86_400_000;
const s = scratch();
let ca: CertificateAuthority;
let caFile: string;

beforeAll(async () => ({ ca, caFile } = await scratchCa(s)));
afterAll(() => s.cleanup());

function csrFor(cn: string, name: string, keyAlg: string[] = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']): string {
  const key = s.path(`${name}.key`);
  const csr = s.path(`${name}.csr`);
  opensslOk(['req', '-new', ...keyAlg, '-nodes', '-keyout', key, '-subj', `/O=Makapix Device/CN=${cn}`, '-out', csr]);
  return opensslOk(['req', '-in', csr]);
}

async function rejection(p: Promise<unknown>): Promise<PkiError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(PkiError);
  return err as PkiError;
}

describe('issueServerCertificate', () => {
  it('issues a serverAuth certificate with the given names and its key; openssl verifies it for the purpose', async () => {
    const issued = await issueServerCertificate(ca, 'localhost', [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }], { days: 825 });
    const cert = new X509Certificate(issued.certPem);
    expect(cert.subject).toBe('CN=localhost');
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(cert.checkPrivateKey(createPrivateKey(issued.keyPem))).toBe(true);
    expect(Math.round((issued.notAfter.getTime() - issued.notBefore.getTime()) / DAY)).toBe(825);
    expect(opensslOk(['verify', '-purpose', 'sslserver', '-CAfile', caFile, s.file('server.crt', issued.certPem)])).toMatch(/: OK/);
  });

  it('refuses a name that is not a DNS name or an IP address', async () => {
    expect((await rejection(issueServerCertificate(ca, 'localhost', [{ type: 'ip', value: 'not-an-ip' }]))).message).toMatch(/ip:"not-an-ip" is not a valid IP address/);
    expect((await rejection(issueServerCertificate(ca, 'localhost', [{ type: 'dns', value: 'a b' }]))).message).toMatch(/dns:"a b" is not a valid DNS name/);
  });
});

describe('issueClientCertificate', () => {
  it('issues a 365-day clientAuth certificate with CN = player_key that openssl verifies', async () => {
    const key = randomUUID();
    const now = new Date();
    const issued = await issueClientCertificate(ca, key, { now });
    const certPath = s.file(`${key}.crt`, issued.certPem);
    const keyPath = s.file(`${key}.key`, issued.keyPem);

    expect(opensslOk(['verify', '-CAfile', caFile, '-purpose', 'sslclient', certPath])).toMatch(/: OK/);
    expect(opensslOk(['x509', '-in', certPath, '-noout', '-subject'])).toMatch(new RegExp(`subject=CN *= *${key}`));
    const text = opensslOk(['x509', '-in', certPath, '-noout', '-text']);
    expect(text).toMatch(/TLS Web Client Authentication/);
    expect(text).toMatch(/CA:FALSE/);
    expect(issued.keyPem).toContain('BEGIN PRIVATE KEY');
    // The private key belongs to the certificate.
    expect(opensslOk(['pkey', '-in', keyPath, '-pubout'])).toBe(opensslOk(['x509', '-in', certPath, '-noout', '-pubkey']));

    const info = certificateInfo(issued.certPem);
    expect(info.commonName).toBe(key);
    expect(info.serialHex).toBe(issued.serialHex);
    expect(info.serialHex).toMatch(/^[0-7][0-9a-f]{31}$/);
    expect(opensslOk(['x509', '-in', certPath, '-noout', '-serial']).trim().toLowerCase()).toBe(`serial=${issued.serialHex}`);
    expect(info.clientAuth).toBe(true);
    expect(info.isCa).toBe(false);
    expect(info.notAfter.getTime()).toBe(issued.notAfter.getTime());
    expect(info.notBefore.getTime()).toBe(issued.notBefore.getTime());
    expect(Math.round((info.notAfter.getTime() - now.getTime()) / DAY)).toBe(365);
    expect(info.notBefore.getTime()).toBeLessThan(now.getTime());
    expect(info.fingerprintSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('uses fresh serials and honours days', async () => {
    const a = await issueClientCertificate(ca, 'device-a', { days: 30 });
    const b = await issueClientCertificate(ca, 'device-a', { days: 30 });
    expect(a.serialHex).not.toBe(b.serialHex);
    expect(Math.round((a.notAfter.getTime() - Date.now()) / DAY)).toBe(30);
  });

  it('refuses common names that would need escaping', async () => {
    const err = await rejection(issueClientCertificate(ca, 'x,O=evil'));
    expect(err.code).toBe('invalid_common_name');
  });

  it('is rejected by openssl when signed by another CA', async () => {
    const other = await loadOrCreateCa(join(s.dir, 'other-ca'));
    const foreign = await issueClientCertificate(other, randomUUID());
    const r = openssl(['verify', '-CAfile', caFile, s.file('foreign.crt', foreign.certPem)]);
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/unable to get local issuer certificate/);
  });
});

describe('issueFromCsr', () => {
  it('signs a CSR whose CN is the player key, keeping the device key', async () => {
    const key = randomUUID();
    const csr = csrFor(key, 'dev1');
    const issued = await issueFromCsr(ca, csr, key);
    const certPath = s.file('dev1.crt', issued.certPem);
    expect(opensslOk(['verify', '-CAfile', caFile, '-purpose', 'sslclient', certPath])).toMatch(/: OK/);
    // The certificate carries the device's public key and only our subject.
    expect(opensslOk(['x509', '-in', certPath, '-noout', '-pubkey'])).toBe(opensslOk(['pkey', '-in', s.path('dev1.key'), '-pubout']));
    expect(certificateInfo(issued.certPem).subject).toBe(`CN=${key}`);
    expect(Math.round((issued.notAfter.getTime() - Date.now()) / DAY)).toBe(365);
  });

  it('accepts an upper-case CN and an RSA 2048 key', async () => {
    const key = randomUUID();
    const issued = await issueFromCsr(ca, csrFor(key.toUpperCase(), 'rsa', ['-newkey', 'rsa:2048']), key);
    expect(certificateInfo(issued.certPem).commonName).toBe(key);
    expect(opensslOk(['verify', '-CAfile', caFile, s.file('rsa.crt', issued.certPem)])).toMatch(/: OK/);
  });

  it('rejects a CN that is not the player key', async () => {
    const err = await rejection(issueFromCsr(ca, csrFor(randomUUID(), 'mismatch'), randomUUID()));
    expect(err.code).toBe('csr_cn_mismatch');
    expect(err.message).toMatch(/exactly one CN equal to the player key/);
  });

  it('rejects a tampered CSR and garbage', async () => {
    const key = randomUUID();
    const good = csrFor(key, 'tamper');
    const der = Buffer.from(good.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64');
    der[der.length - 5]! ^= 0x01; // flip a bit of the signature
    const bad = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    const err = await rejection(issueFromCsr(ca, bad, key));
    expect(['csr_signature_invalid', 'invalid_csr']).toContain(err.code);
    expect((await rejection(issueFromCsr(ca, 'not a csr', key))).code).toBe('invalid_csr');
  });

  it('rejects weak keys', async () => {
    const key = randomUUID();
    const err = await rejection(issueFromCsr(ca, csrFor(key, 'rsa1024', ['-newkey', 'rsa:1024']), key));
    expect(err.code).toBe('unsupported_key');
  });
});

describe('renewal window', () => {
  it('opens 30 days before expiry and stays open after', () => {
    const notAfter = new Date('2026-12-09T01:30:00Z');
    expect(renewalOpensAt(notAfter).toISOString()).toBe('2026-11-09T01:30:00.000Z');
    expect(canRenew(notAfter, new Date('2026-11-09T01:29:59Z'))).toBe(false);
    expect(canRenew(notAfter, new Date('2026-11-09T01:30:00Z'))).toBe(true);
    expect(canRenew(notAfter, new Date('2026-12-20T00:00:00Z'))).toBe(true);
    expect(canRenew(notAfter, new Date('2025-12-09T01:30:00Z'))).toBe(false);
  });
});
