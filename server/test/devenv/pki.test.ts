// The dev PKI: idempotent, verifiable with OpenSSL, client certificates with the requested CN.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { ensureDevPki, issueClientCert } from '../../devenv/pki.js';
import { revokeSerial } from '../../devenv/crl.js';
import { tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('ensureDevPki', () => {
  it('creates a P-256 CA and a server certificate for localhost and 127.0.0.1, keys 0600', async () => {
    const p = await ensureDevPki(tmp.path);
    const ca = new X509Certificate(readFileSync(p.caCert));
    const server = new X509Certificate(readFileSync(p.serverCert));
    expect(ca.ca).toBe(true);
    expect(ca.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(server.ca).toBe(false);
    expect(server.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(statSync(p.caKey).mode & 0o777).toBe(0o600);
    expect(statSync(p.serverKey).mode & 0o777).toBe(0o600);
    expect(openssl('verify', '-CAfile', p.caCert, p.serverCert)).toContain('OK');
  });

  it('is idempotent: a second call keeps the files', async () => {
    const before = readFileSync(`${tmp.path}/ca.crt`, 'utf8') + readFileSync(`${tmp.path}/server.key`, 'utf8');
    await ensureDevPki(tmp.path);
    expect(readFileSync(`${tmp.path}/ca.crt`, 'utf8') + readFileSync(`${tmp.path}/server.key`, 'utf8')).toBe(before);
  });
});

describe('ensureDevPki with MQTT_PUBLIC_HOST', () => {
  const pub = tempDir();
  afterAll(() => pub.remove());

  it('puts the public host(s) in the broker certificate, so a device verifying that name accepts it', async () => {
    const p = await ensureDevPki(pub.path, { publicHosts: ['mqtt.makapix.test', '192.0.2.7'] });
    const server = new X509Certificate(readFileSync(p.serverCert));
    expect(server.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1, DNS:mqtt.makapix.test, IP Address:192.0.2.7');
    // the hostname check a TLS client makes (Node's, as mbedTLS's on the p3a)
    expect(server.checkHost('mqtt.makapix.test')).toBe('mqtt.makapix.test');
    expect(server.checkIP('192.0.2.7')).toBe('192.0.2.7');
    expect(server.checkHost('other.makapix.test')).toBeUndefined();
    expect(openssl('verify', '-CAfile', p.caCert, '-verify_hostname', 'mqtt.makapix.test', p.serverCert)).toContain('OK');
  });

  it('keeps the certificate while it names every host; reissues it (same CA) when a new host is asked for', async () => {
    const before = readFileSync(`${pub.path}/server.crt`, 'utf8');
    const ca = readFileSync(`${pub.path}/ca.crt`, 'utf8');
    await ensureDevPki(pub.path, { publicHosts: ['MQTT.makapix.test'] });
    expect(readFileSync(`${pub.path}/server.crt`, 'utf8')).toBe(before);
    await ensureDevPki(pub.path, { publicHosts: ['[::1]', 'broker.example.org'] });
    const after = new X509Certificate(readFileSync(`${pub.path}/server.crt`));
    expect(after.checkHost('broker.example.org')).toBe('broker.example.org');
    expect(after.checkIP('::1')).toBe('::1');
    expect(readFileSync(`${pub.path}/ca.crt`, 'utf8')).toBe(ca);
  });
});

describe('issueClientCert and the CRL', () => {
  it('issues a client certificate with CN, validity and clientAuth; OpenSSL verifies it; revocation shows in the CRL', async () => {
    const cn = '0b9a5c4e-1f2d-4e3a-9b8c-7d6e5f4a3b2c';
    const c = await issueClientCert(tmp.path, cn, 30);
    const cert = new X509Certificate(c.certPem);
    expect(cert.subject).toBe(`CN=${cn}`);
    expect(cert.serialNumber.toLowerCase()).toBe(c.serial);
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    const certFile = `${tmp.path}/client.crt`;
    writeFileSync(certFile, c.certPem);
    expect(openssl('verify', '-crl_check', '-CAfile', `${tmp.path}/ca.crt`, '-CRLfile', `${tmp.path}/crl.pem`, certFile)).toContain('OK');
    await revokeSerial(tmp.path, c.serial);
    expect(() => openssl('verify', '-crl_check', '-CAfile', `${tmp.path}/ca.crt`, '-CRLfile', `${tmp.path}/crl.pem`, certFile))
      .toThrow(/certificate revoked/);
  });
});
