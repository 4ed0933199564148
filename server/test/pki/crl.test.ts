import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateAuthority } from '../../src/pki/ca.js';
import { buildCrl } from '../../src/pki/crl.js';
import { issueClientCertificate } from '../../src/pki/issue.js';
import { openssl, opensslOk, scratch, scratchCa } from './openssl.js';

const s = scratch();
let ca: CertificateAuthority;
let caFile: string;

beforeAll(async () => ({ ca, caFile } = await scratchCa(s)));
afterAll(() => s.cleanup());

describe('buildCrl', () => {
  it('produces a CRL that openssl accepts and that revokes exactly the listed certificates', async () => {
    const revoked = await issueClientCertificate(ca, randomUUID());
    const kept = await issueClientCertificate(ca, randomUUID());
    const pem = await buildCrl(ca, [{ serialHex: revoked.serialHex.toUpperCase(), revokedAt: new Date() }]);
    expect(pem).toMatch(/^-----BEGIN X509 CRL-----/);
    const crl = s.file('crl.pem', pem);
    expect(opensslOk(['crl', '-in', crl, '-CAfile', caFile, '-noout'])).toMatch(/verify OK/);
    expect(opensslOk(['crl', '-in', crl, '-noout', '-text']).toLowerCase()).toContain(revoked.serialHex);

    const r = openssl(['verify', '-crl_check', '-CRLfile', crl, '-CAfile', caFile, s.file('revoked.crt', revoked.certPem)]);
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/certificate revoked/);
    expect(opensslOk(['verify', '-crl_check', '-CRLfile', crl, '-CAfile', caFile, s.file('kept.crt', kept.certPem)])).toMatch(/: OK/);
  });

  it('builds an empty CRL', async () => {
    const crl = s.file('empty.pem', await buildCrl(ca, []));
    expect(opensslOk(['crl', '-in', crl, '-CAfile', caFile, '-noout'])).toMatch(/verify OK/);
    expect(opensslOk(['crl', '-in', crl, '-noout', '-text'])).toMatch(/No Revoked Certificates/);
  });
});
