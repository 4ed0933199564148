// Devices that keep their private key (real stack: Mosquitto with mTLS, PostgreSQL, the server,
// real certificates): the device generates its key pair, provisions with a CSR whose subject it
// cannot know yet, gets registered, downloads credentials without key_pem, connects over mTLS with
// its own key; the database never holds a private key for it; renewals keep the device's key.
// Unusable CSRs (bad signature, garbage, unaccepted keys) are 400 naming csr_pem.
import { createPublicKey, generateKeyPairSync, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { compileValidator } from '#runtime/v1';
import { restExamples } from '@makapix/contract/openapi/examples';
import { PlayerCredentials } from '@makapix/contract/openapi/schemas';
import { certificateInfo } from '../../src/pki/index.js';
import { x509 } from '../../src/pki/x509.js';
import { connectPlayer, registerUser, startStack, uniqueHandle, type Stack, type TestUser } from '../support/stack.js';
import { endAll, expectError, expectStatus } from './helpers.js';

const DAY = 86_400_000;
const ex = restExamples;
const CredentialsValidator = compileValidator<PlayerCredentials>(PlayerCredentials);

let stack: Stack;
let owner: TestUser;
const clients: MqttClient[] = [];

beforeAll(async () => {
  stack = await startStack();
  owner = await registerUser(stack.api, uniqueHandle('csrowner'));
});

afterAll(async () => {
  await endAll(clients);
  await stack?.stop();
});

const sql = () => stack.server.ctx.sql;

interface DeviceKey {
  privateKeyPem: string;
  publicKey: KeyObject;
  pair: webcrypto.CryptoKeyPair;
}

/** What the firmware does: a key pair generated on the device (node:crypto), as WebCrypto keys for the CSR. */
async function deviceKey(): Promise<DeviceKey> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const alg = { name: 'ECDSA', namedCurve: 'P-256' };
  const pair = {
    privateKey: await webcrypto.subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), alg, false, ['sign']),
    publicKey: await webcrypto.subtle.importKey('spki', publicKey.export({ type: 'spki', format: 'der' }), alg, true, ['verify']),
  };
  return { privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicKey, pair };
}

/** A CSR with a subject of the device's choosing (it does not know its player_key) and a CA extension it must not get. */
async function csrFor(keys: webcrypto.CryptoKeyPair, signingAlgorithm: object = { name: 'ECDSA', hash: 'SHA-256' }): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=my-esp32, O=Not The Player Key',
    keys: keys as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['keys'],
    signingAlgorithm: signingAlgorithm as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['signingAlgorithm'],
    extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
  });
  return csr.toString('pem') + '\n';
}

const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' }).toString('hex');
const certKey = (certPem: string) => spki(new X509Certificate(certPem).publicKey);

async function pendingCount(deviceModel: string): Promise<number> {
  const [row] = await sql()<{ n: number }[]>`select count(*)::int as n from players where device_model = ${deviceModel}`;
  return row!.n;
}

describe('provisioning with a CSR', () => {
  // One device's story in steps (each needs what the ones before it did), so one test: no test
  // depends on another's data.
  it('a device with its own key: provisioned with a CSR, registered, connected over mTLS, renewed', async () => {
    let device: DeviceKey;
    let playerKey: string;
    let code: string;
    let playerId: string;
    let firstCert: string;
    { // keeps only the verified public key of the pending player
      device = await deviceKey();
      const csr_pem = await csrFor(device.pair);
      const p = expectStatus(await stack.api.provisionPlayer({ body: { device_model: 'csr-device', firmware_version: '2.0.0', csr_pem } }), 201);
      playerKey = p.player_key;
      code = p.registration_code;
      const [row] = await sql()<{ device_public_key: string | null; key_pem: string | null; registration_status: string }[]>`
        select device_public_key, key_pem, registration_status from players where player_key = ${playerKey}`;
      expect(row!.registration_status).toBe('pending');
      expect(row!.key_pem).toBeNull();
      expect(spki(createPublicKey(row!.device_public_key!))).toBe(spki(device.publicKey));
      expectError(await stack.api.getPlayerCredentials({ params: { player_key: playerKey } }), 404, 'not_found', 'Player not registered yet');
    }

    { // issues, at registration, a certificate for the device key with CN = player_key (CSR subject and extensions ignored); credentials carry no key_pem
      const reg = expectStatus(await stack.api.registerPlayer({ body: { registration_code: code, name: 'CSR Player' } }, { token: owner.token }), 201);
      playerId = reg.id;
      expect(reg).toMatchObject({ player_key: playerKey, device_model: 'csr-device', registration_status: 'registered' });

      const creds = expectStatus(await stack.api.getPlayerCredentials({ params: { player_key: playerKey } }), 200);
      expect(CredentialsValidator.check(creds), CredentialsValidator.explain(creds)).toBe(true);
      expect(Object.keys(creds).sort()).toEqual(Object.keys(ex.getPlayerCredentials.responses[200].registered_player_with_csr).sort());
      expect(creds).not.toHaveProperty('key_pem');

      const info = certificateInfo(creds.cert_pem);
      expect(info.subject).toBe(`CN=${playerKey}`);
      expect(info.isCa).toBe(false);
      expect(info.clientAuth).toBe(true);
      expect(info.notAfter.toISOString()).toBe(reg.cert_expires_at);
      expect(certKey(creds.cert_pem)).toBe(spki(device.publicKey));
      expect(new X509Certificate(creds.cert_pem).verify(new X509Certificate(creds.ca_pem).publicKey)).toBe(true);
      firstCert = creds.cert_pem;

      // the database holds no private key for this player, anywhere in its row
      const [row] = await sql()<{ key_pem: string | null; cert_serial: string; whole: string }[]>`
        select key_pem, cert_serial, row_to_json(p)::text as whole from players p where player_key = ${playerKey}`;
      expect(row!.key_pem).toBeNull();
      expect(row!.cert_serial).toBe(info.serialHex);
      expect(row!.whole).not.toContain('PRIVATE KEY');
    }

    { // connects over mTLS with its own key and the issued certificate
      const c = await connectPlayer(stack, { player_key: playerKey, ca_pem: stack.server.ctx.ca.certPem, cert_pem: firstCert, key_pem: device.privateKeyPem });
      clients.push(c);
      expect(c.connected).toBe(true);
      await c.endAsync();
    }

    { // renew-cert re-issues for the same public key (still no key_pem), not before the window
      const params = { sqid: owner.sqid, player_id: playerId };
      expectError(await stack.api.renewPlayerCert({ params }, { token: owner.token }), 400, 'invalid_request', /^The certificate expires at /);

      await sql()`update players set cert_expires_at = now() + interval '10 days' where id = ${playerId}`;
      const renewed = expectStatus(await stack.api.renewPlayerCert({ params }, { token: owner.token }), 200);
      expect(Math.abs(Date.parse(renewed.cert_expires_at) - (Date.now() + 365 * DAY))).toBeLessThan(60_000);

      const creds = expectStatus(await stack.api.getPlayerCredentials({ params: { player_key: playerKey } }), 200);
      expect(creds).not.toHaveProperty('key_pem');
      const next = certificateInfo(creds.cert_pem);
      expect(next.serialHex).not.toBe(certificateInfo(firstCert).serialHex);
      expect(next.subject).toBe(`CN=${playerKey}`);
      expect(next.notAfter.toISOString()).toBe(renewed.cert_expires_at);
      expect(certKey(creds.cert_pem)).toBe(spki(device.publicKey));

      const [row] = await sql()<{ key_pem: string | null; cert_serial: string; previous_cert_serial: string }[]>`
        select key_pem, cert_serial, previous_cert_serial from players where id = ${playerId}`;
      expect(row).toEqual({ key_pem: null, cert_serial: next.serialHex, previous_cert_serial: certificateInfo(firstCert).serialHex });

      const c = await connectPlayer(stack, { player_key: playerKey, ca_pem: creds.ca_pem, cert_pem: creds.cert_pem, key_pem: device.privateKeyPem });
      clients.push(c);
      await c.endAsync();
    }
  }, 60_000);

  it("accepts the spec's esp32_p4_with_csr example (a real P-256 CSR with another CN)", async () => {
    const body = ex.provisionPlayer.request.esp32_p4_with_csr;
    const p = expectStatus(await stack.api.provisionPlayer({ body }), 201);
    const [row] = await sql()<{ device_public_key: string }[]>`select device_public_key from players where player_key = ${p.player_key}`;
    const csr = new x509.Pkcs10CertificateRequest(body.csr_pem!);
    expect(spki(createPublicKey(row!.device_public_key))).toBe(Buffer.from(csr.publicKey.rawData).toString('hex'));
  });

  it('a player provisioned without a CSR still gets its server-generated key_pem', async () => {
    const p = expectStatus(await stack.api.provisionPlayer({ body: ex.provisionPlayer.request.esp32_p4 }), 201);
    expectStatus(await stack.api.registerPlayer({ body: { registration_code: p.registration_code, name: 'Classic' } }, { token: owner.token }), 201);
    const creds = expectStatus(await stack.api.getPlayerCredentials({ params: { player_key: p.player_key } }), 200);
    expect(creds.key_pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const [row] = await sql()<{ device_public_key: string | null }[]>`select device_public_key from players where player_key = ${p.player_key}`;
    expect(row!.device_public_key).toBeNull();
  });
});

describe('unusable CSRs', () => {
  it('a CSR whose signature does not verify (one byte tampered) is a 400 naming csr_pem, and creates no player', async () => {
    const good = await csrFor((await deviceKey()).pair);
    const der = Buffer.from(x509.PemConverter.decodeFirst(good));
    der[der.length - 1] ^= 0x01; // last byte of the ECDSA signature's s
    const tampered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
    const r = await stack.api.provisionPlayer({ body: { device_model: 'csr-bad-signature', csr_pem: tampered } });
    expectError(r, 400, 'invalid_request', 'csr_pem: the certificate signing request is not signed by the key it contains');
    expect(await pendingCount('csr-bad-signature')).toBe(0);
  });

  it('garbage under the right PEM label is a 400 naming csr_pem', async () => {
    const garbage = `-----BEGIN CERTIFICATE REQUEST-----\n${'bm90IGEgQ1NS'.repeat(12)}\n-----END CERTIFICATE REQUEST-----\n`;
    const r = await stack.api.provisionPlayer({ body: { device_model: 'csr-garbage', csr_pem: garbage } });
    expectError(r, 400, 'invalid_request', /^csr_pem: the certificate signing request is not a valid PEM PKCS#10 request/);
    expect(await pendingCount('csr-garbage')).toBe(0);
  });

  it('a body whose csr_pem is not a CSR PEM at all fails the schema (400 naming csr_pem)', async () => {
    const { privateKeyPem } = await deviceKey();
    const r = await stack.api.provisionPlayer({ body: { device_model: 'csr-private-key', csr_pem: privateKeyPem } });
    expectError(r, 400, 'invalid_request', /csr_pem/);
    expect(await pendingCount('csr-private-key')).toBe(0);
  });

  it('a validly signed CSR for a key that is not accepted (RSA 1024) is a 400 naming csr_pem', async () => {
    const alg = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const r = await stack.api.provisionPlayer({ body: { device_model: 'csr-weak-key', csr_pem: await csrFor(keys, alg) } });
    expectError(r, 400, 'invalid_request', /^csr_pem: CSR key RSASSA-PKCS1-v1_5 1024 bits is not accepted/);
    expect(await pendingCount('csr-weak-key')).toBe(0);
  });
});
