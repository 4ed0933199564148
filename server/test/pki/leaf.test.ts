// The leaf certificate writer (pki/leaf.ts) against the @peculiar/x509 path it replaced: for the
// same CA, serial, validity and key, the to-be-signed part must be byte for byte what
// X509CertificateGenerator made with the extensions issue.ts used to add; openssl must read and
// verify what it writes; bad input must be refused with a PkiError naming what is wrong.
import { createECDH, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, X509Certificate, type KeyObject as Key } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateCa, type CertificateAuthority } from '../../src/pki/ca.js';
import { children, pem, readWhole, Tag } from '../../src/pki/der.js';
import { issueClientCertificate, issueForPublicKey } from '../../src/pki/issue.js';
import {
  leafIssuerOf, leafPublicKey, leafPublicKeyFromPem, makeLeafIssuer, newP256KeyPair, writeLeafCertificate,
  type LeafFields, type LeafPublicKey, type SubjectAltName,
} from '../../src/pki/leaf.js';
import { EC_P256, PkiError, randomSerialHex, x509 } from '../../src/pki/x509.js';
import { opensslOk, scratch, scratchCa } from './openssl.js';

const s = scratch();
let ca: CertificateAuthority;
let caFile: string;

beforeAll(async () => ({ ca, caFile } = await scratchCa(s)));
afterAll(() => s.cleanup());

/** The certificate the @peculiar/x509 path made for these fields (the extensions issue.ts's sign() added). */
async function referenceCertificate(authority: CertificateAuthority, f: LeafFields): Promise<x509.X509Certificate> {
  const publicKey = new x509.PublicKey(f.publicKey.spkiDer);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([f.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(authority.cert),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
  ];
  if (f.usage === 'server' && f.sans && f.sans.length > 0) {
    extensions.push(new x509.SubjectAlternativeNameExtension(f.sans.map((n) => ({ type: n.type, value: n.value }))));
  }
  return x509.X509CertificateGenerator.create({
    serialNumber: f.serialHex,
    subject: `CN=${f.commonName}`,
    issuer: authority.cert.subjectName,
    notBefore: f.notBefore,
    notAfter: f.notAfter,
    signingAlgorithm: EC_P256,
    publicKey,
    signingKey: authority.signingKey,
    extensions,
  });
}

/** The DER of the tbsCertificate inside a certificate's DER. */
function tbsOf(der: Uint8Array): Buffer {
  const tbs = children(der, readWhole(der, Tag.sequence, 'certificate'))[0]!;
  return Buffer.from(der.subarray(tbs.start, tbs.end));
}

function fields(over: Partial<LeafFields> = {}): LeafFields {
  const notBefore = new Date(Date.UTC(2026, 11, 3, 10, 0, 0));
  return {
    serialHex: randomSerialHex(),
    commonName: '0b9f4c3e-8d8b-4f7e-9a43-3d0c2a1b5e77',
    notBefore,
    notAfter: new Date(notBefore.getTime() + 365 * 86_400_000),
    publicKey: newP256KeyPair().publicKey,
    usage: 'client',
    ...over,
  };
}

const keyOf = (k: Key): LeafPublicKey => leafPublicKey(k);

async function expectSameAsReference(authority: CertificateAuthority, f: LeafFields): Promise<Buffer> {
  const der = writeLeafCertificate(leafIssuerOf(authority), f);
  const ref = await referenceCertificate(authority, f);
  expect(tbsOf(der).toString('hex')).toBe(tbsOf(new Uint8Array(ref.rawData)).toString('hex'));
  // and field by field, as @peculiar/x509 reads the new certificate
  const mine = new x509.X509Certificate(der);
  expect(mine.serialNumber).toBe(ref.serialNumber);
  expect(mine.subject).toBe(ref.subject);
  expect(mine.issuer).toBe(ref.issuer);
  expect(mine.notBefore.getTime()).toBe(ref.notBefore.getTime());
  expect(mine.notAfter.getTime()).toBe(ref.notAfter.getTime());
  expect(mine.signatureAlgorithm).toEqual(ref.signatureAlgorithm);
  expect(Buffer.from(mine.publicKey.rawData).equals(Buffer.from(ref.publicKey.rawData))).toBe(true);
  expect(mine.extensions.map((e) => [e.type, e.critical, Buffer.from(e.value).toString('hex')])).toEqual(
    ref.extensions.map((e) => [e.type, e.critical, Buffer.from(e.value).toString('hex')]),
  );
  expect(await mine.verify({ publicKey: authority.cert.publicKey, signatureOnly: true })).toBe(true);
  expect(new X509Certificate(der).verify(createPublicKey(authority.certPem))).toBe(true);
  return der;
}

describe('writeLeafCertificate', () => {
  it('writes what the @peculiar/x509 path wrote for a client certificate, and openssl verifies it as a TLS client', async () => {
    const der = await expectSameAsReference(ca, fields());
    const file = s.file('client.crt', pem(der, 'CERTIFICATE') + '\n');
    expect(opensslOk(['verify', '-CAfile', caFile, '-purpose', 'sslclient', file])).toMatch(/: OK/);
    const text = opensslOk(['x509', '-in', file, '-noout', '-text']);
    expect(text).toMatch(/Version: 3 \(0x2\)/);
    expect(text).toMatch(/Signature Algorithm: ecdsa-with-SHA256/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\n/);
    expect(text).toMatch(/X509v3 Extended Key Usage: \s*TLS Web Client Authentication\n/);
    expect(text).toMatch(/Subject: CN *= *0b9f4c3e-8d8b-4f7e-9a43-3d0c2a1b5e77/);
    expect(text).toMatch(/Not Before: Dec  3 10:00:00 2026 GMT/);
  });

  it('writes server certificates with DNS and IP names (IPv4, IPv6, IPv4 inside IPv6) as before', async () => {
    const sans: SubjectAltName[] = [
      { type: 'dns', value: 'localhost' },
      { type: 'dns', value: 'broker.example.test' },
      { type: 'ip', value: '127.0.0.1' },
      { type: 'ip', value: '::1' },
      { type: 'ip', value: '2001:db8:0:0:1::ff' },
    ];
    const der = await expectSameAsReference(ca, fields({ commonName: 'localhost', usage: 'server', sans }));
    const file = s.file('server.crt', pem(der, 'CERTIFICATE') + '\n');
    expect(opensslOk(['verify', '-CAfile', caFile, '-purpose', 'sslserver', file])).toMatch(/: OK/);
    expect(new X509Certificate(der).subjectAltName).toBe(
      'DNS:localhost, DNS:broker.example.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:1:0:0:FF',
    );
    // @peculiar/x509 cannot write this form; openssl reads what we write
    const mapped = new X509Certificate(writeLeafCertificate(leafIssuerOf(ca), fields({ usage: 'server', sans: [{ type: 'ip', value: '::ffff:10.1.2.3' }] })));
    expect(mapped.subjectAltName).toBe('IP Address:0:0:0:0:0:FFFF:A01:203');
  });

  it('matches the reference for a CN with "_" (UTF8String), serials with the top bit set, leading zeros or odd length', async () => {
    await expectSameAsReference(ca, fields({ commonName: 'dev_box.1' }));
    await expectSameAsReference(ca, fields({ serialHex: 'ff' + randomSerialHex().slice(2) }));
    await expectSameAsReference(ca, fields({ serialHex: '00007f01' }));
    await expectSameAsReference(ca, fields({ serialHex: 'abc' }));
    await expectSameAsReference(ca, fields({ serialHex: '8' }));
  });

  it('matches the reference for device keys of every accepted kind (P-256, P-384, RSA 2048)', async () => {
    await expectSameAsReference(ca, fields({ publicKey: keyOf(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey) }));
    await expectSameAsReference(ca, fields({ publicKey: keyOf(generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey) }));
    await expectSameAsReference(ca, fields({ publicKey: keyOf(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey) }));
  });

  it('uses GeneralizedTime from 2050 on (RFC 5280), as the reference does', async () => {
    const later = await loadOrCreateCa(join(s.dir, 'ca-2045'), { now: new Date(Date.UTC(2045, 0, 1)), validityDays: 3650 });
    const notBefore = new Date(Date.UTC(2049, 5, 1, 12, 30, 15));
    const der = await expectSameAsReference(later, fields({ notBefore, notAfter: new Date(Date.UTC(2050, 5, 1, 12, 30, 15)) }));
    // 0x17 UTCTime "490601123015Z", then 0x18 GeneralizedTime "20500601123015Z"
    expect(der.includes(Buffer.from('170d3439303630313132333031355a', 'hex'))).toBe(true);
    expect(der.includes(Buffer.from('180f32303530303630313132333031355a', 'hex'))).toBe(true);
  });

  it('drops milliseconds as X.509 has none', async () => {
    const f = fields({ notBefore: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 678)) });
    const cert = new X509Certificate(writeLeafCertificate(leafIssuerOf(ca), f));
    expect(new Date(cert.validFrom).getTime()).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
  });

  it('refuses a common name that is not simple', () => {
    for (const cn of ['', 'a b', 'CN=x,O=evil', 'x/y', 'é', 'a'.repeat(65), 'line\nbreak']) {
      const err = catchError(() => writeLeafCertificate(leafIssuerOf(ca), fields({ commonName: cn })));
      expect(err.code).toBe('invalid_common_name');
      expect(err.message).toContain(JSON.stringify(cn));
    }
  });

  it('refuses serials that are not positive lower-case hex of at most 20 bytes', () => {
    for (const serial of ['', '00', 'ABCD', 'xyz', '1'.repeat(41), '-1']) {
      const err = catchError(() => writeLeafCertificate(leafIssuerOf(ca), fields({ serialHex: serial })));
      expect(err.code).toBe('invalid_serial');
    }
  });

  it('refuses unsupported keys with a PkiError naming the key', () => {
    const cases: [Key, RegExp][] = [
      [generateKeyPairSync('ec', { namedCurve: 'secp521r1' }).publicKey, /EC secp521r1 is not accepted/],
      [generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey, /EC secp256k1 is not accepted/],
      [generateKeyPairSync('ed25519').publicKey, /ed25519 is not accepted/],
      [generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey, /RSA 1024 bits is not accepted/],
    ];
    for (const [key, message] of cases) {
      const fromKey = catchError(() => leafPublicKey(key, 'device key'));
      expect(fromKey.code).toBe('unsupported_key');
      expect(fromKey.message).toMatch(message);
      const fromPem = catchError(() => leafPublicKeyFromPem(key.export({ type: 'spki', format: 'pem' }) as string));
      expect(fromPem.code).toBe('unsupported_key');
      expect(fromPem.message).toMatch(message);
    }
  });

  it('refuses what is not an SPKI PEM public key', () => {
    const priv = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    for (const text of ['', 'hello', priv, ca.certPem, '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----']) {
      const err = catchError(() => leafPublicKeyFromPem(text));
      expect(err.code).toBe('invalid_public_key');
      expect(err.message).toMatch(/not a readable PEM public key/);
    }
  });

  it('refuses subject alternative names that are not DNS names or IP addresses', () => {
    expect(catchError(() => writeLeafCertificate(leafIssuerOf(ca), fields({ usage: 'server', sans: [{ type: 'ip', value: '1.2.3' }] }))).message)
      .toMatch(/ip:"1.2.3" is not a valid IP address/);
    expect(catchError(() => writeLeafCertificate(leafIssuerOf(ca), fields({ usage: 'server', sans: [{ type: 'dns', value: 'a b' }] }))).message)
      .toMatch(/dns:"a b" is not a valid DNS name/);
    expect(catchError(() => writeLeafCertificate(leafIssuerOf(ca), fields({ sans: [{ type: 'dns', value: 'x' }] }))).message)
      .toMatch(/server certificates only/);
  });

  it('refuses a CA key that is not EC P-256', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const err = catchError(() => makeLeafIssuer(new Uint8Array(ca.cert.rawData), rsa, ca.cert.notAfter));
    expect(err.code).toBe('ca_invalid');
    expect(err.message).toMatch(/EC P-256 private key, found private RSA 2048 bits/);
    const truncated = catchError(() => makeLeafIssuer(new Uint8Array(ca.cert.rawData).subarray(0, 100), KeyObject.from(ca.signingKey), ca.cert.notAfter));
    expect(truncated.code).toBe('ca_invalid');
    expect(truncated.message).toMatch(/the CA certificate could not be read/);
  });
});

describe('newP256KeyPair', () => {
  it('writes PKCS#8 exactly as OpenSSL does, also when the scalar has leading zero bytes, with the matching SPKI', () => {
    let shortScalars = 0;
    // about one key in 256 has a scalar with a leading zero byte: go on until the padding was exercised
    for (let i = 0; i < 6000 && (shortScalars === 0 || i < 200); i++) {
      const { publicKey, pkcs8Der } = newP256KeyPair();
      const key = createPrivateKey({ key: pkcs8Der, format: 'der', type: 'pkcs8' });
      if (!key.export({ type: 'pkcs8', format: 'der' }).equals(pkcs8Der)) throw new Error(`PKCS#8 differs from OpenSSL's for key ${i}`);
      if (!createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(publicKey.spkiDer)) throw new Error(`SPKI does not match the private key ${i}`);
      const d = Buffer.from(key.export({ format: 'jwk' }).d!, 'base64url');
      if (d[0] === 0) shortScalars++;
    }
    expect(shortScalars).toBeGreaterThan(0);
  });

  it('makes keys that issueClientCertificate certifies and that sign what the certificate verifies', async () => {
    const issued = await issueClientCertificate(ca, 'abc-123');
    const cert = new X509Certificate(issued.certPem);
    expect(cert.checkPrivateKey(createPrivateKey(issued.keyPem))).toBe(true);
    expect(issued.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END PRIVATE KEY-----$/);
    expect(issued.certPem).toMatch(/^-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/);
    expect(opensslOk(['verify', '-CAfile', caFile, '-purpose', 'sslclient', s.file('abc.crt', issued.certPem)])).toMatch(/: OK/);
  });
});

describe('issueForPublicKey', () => {
  it('keeps the device SPKI bytes as sent (a compressed P-256 point stays compressed)', async () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const point = ecdh.getPublicKey(undefined, 'compressed');
    const spki = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), point]);
    const issued = await issueForPublicKey(ca, pem(spki, 'PUBLIC KEY'), 'abc');
    const cert = new x509.X509Certificate(issued.certPem);
    expect(Buffer.from(cert.publicKey.rawData).equals(spki)).toBe(true);
    expect(opensslOk(['verify', '-CAfile', caFile, s.file('compressed.crt', issued.certPem)])).toMatch(/: OK/);
  });
});

function catchError(f: () => unknown): PkiError {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(PkiError);
    return err as PkiError;
  }
  throw new Error('expected a PkiError, nothing was thrown');
}
