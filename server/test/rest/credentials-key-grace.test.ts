// getPlayerCredentials serves a server-generated private key only until the device has fetched it,
// plus CREDENTIALS_KEY_GRACE_SECONDS (a device that lost power mid-download fetches again); after
// it: 410 gone, no device token issued, and the key is erased from the database. A player that
// sent a CSR never gets a key and keeps getting 200. An owner renewal starts a new key to fetch;
// a device renewal counts as fetched. Real stack; the grace period is passed by moving the
// fetch time back in the database (no sleeping).
import { createHash, generateKeyPairSync, webcrypto } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restExamples } from '@makapix/contract/openapi/examples';
import { x509 } from '../../src/pki/x509.js';
import { registerUser, startStack, uniqueHandle, type Stack, type TestUser } from '../support/stack.js';
import { expectError, expectStatus } from './helpers.js';

const GRACE_SECONDS = 600;
let stack: Stack;
let owner: TestUser;

beforeAll(async () => {
  stack = await startStack({ env: { CREDENTIALS_KEY_GRACE_SECONDS: String(GRACE_SECONDS) } });
  owner = await registerUser(stack.api, uniqueHandle('keygrace'));
});

afterAll(async () => {
  await stack?.stop();
});

const sql = () => stack.server.ctx.sql;
const sha256 = (s: string) => createHash('sha256').update(s).digest();

async function registered(csrPem?: string): Promise<{ id: string; player_key: string }> {
  const body = csrPem === undefined ? restExamples.provisionPlayer.request.p3a : { ...restExamples.provisionPlayer.request.p3a, csr_pem: csrPem };
  const p = expectStatus(await stack.api.provisionPlayer({ body }), 201);
  const reg = expectStatus(await stack.api.registerPlayer({ body: { registration_code: p.registration_code, name: 'Grace' } }, { token: owner.token }), 201);
  return { id: reg.id, player_key: p.player_key };
}

/** Moves the first fetch of the player's key `seconds` into the past (as if the device fetched it then). */
async function fetchedAgo(playerId: string, seconds: number): Promise<void> {
  await sql()`update players set key_fetched_at = now() - make_interval(secs => ${seconds}) where id = ${playerId}`;
}

async function row(playerId: string) {
  const [r] = await sql()<{ key_pem: string | null; key_fetched_at: Date | null; api_token_hash: Buffer | null }[]>`
    select key_pem, key_fetched_at, api_token_hash from players where id = ${playerId}`;
  return r!;
}

const credentials = (playerKey: string) => stack.api.getPlayerCredentials({ params: { player_key: playerKey } });

describe('getPlayerCredentials: the private key is served only until fetched, plus a grace period', () => {
  it('serves the key again within the grace period, then 410 gone (no token, key erased), at the bare path and under /api', async () => {
    const p = await registered();
    expect((await row(p.id)).key_fetched_at).toBeNull();
    const first = expectStatus(await credentials(p.player_key), 200);
    expect(first.key_pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const fetchedAt = (await row(p.id)).key_fetched_at!;
    expect(Math.abs(fetchedAt.getTime() - Date.now())).toBeLessThan(60_000);

    // lost power mid-download: fetched again inside the grace period, the same key, the first fetch time kept
    await fetchedAgo(p.id, GRACE_SECONDS - 30);
    const again = expectStatus(await credentials(p.player_key), 200);
    expect(again.key_pem).toBe(first.key_pem);
    expect(again.cert_pem).toBe(first.cert_pem);
    expect(again.api_token).not.toBe(first.api_token);
    const kept = await row(p.id);
    expect(kept.api_token_hash).toEqual(sha256(again.api_token!));

    // past the grace period: 410, the key is erased, the device token stays the one it has
    await fetchedAgo(p.id, GRACE_SECONDS + 1);
    const gone = await credentials(p.player_key);
    expectError(gone, 410, 'gone', /^The private key was downloaded at .+Z and is no longer served \(grace period 600 s\)/);
    const after = await row(p.id);
    expect(after.key_pem).toBeNull();
    expect(after.api_token_hash).toEqual(sha256(again.api_token!));
    expectError(await credentials(p.player_key), 410, 'gone');
    const prefixed = await fetch(`${stack.server.url}/api/player/${p.player_key}/credentials`);
    expect(prefixed.status).toBe(410);
    expect(((await prefixed.json()) as { error_code: string }).error_code).toBe('gone');
    // the device token it kept still works
    const renew = await stack.api.renewDeviceCert({}, { token: again.api_token! });
    expectError(renew, 400, 'invalid_request');

    // the 410 body is the spec's example's shape
    expect(Object.keys(gone.body as object).sort()).toEqual(
      Object.keys(restExamples.getPlayerCredentials.responses[410].key_already_fetched).sort(),
    );
  });

  it('an owner renewal installs a new key to fetch (served again, then gone after its own grace period)', async () => {
    const p = await registered();
    expectStatus(await credentials(p.player_key), 200);
    await fetchedAgo(p.id, GRACE_SECONDS + 1);
    expectError(await credentials(p.player_key), 410, 'gone');

    await sql()`update players set cert_expires_at = now() + interval '10 days' where id = ${p.id}`;
    expectStatus(await stack.api.renewPlayerCert({ params: { sqid: owner.sqid, player_id: p.id } }, { token: owner.token }), 200);
    expect((await row(p.id)).key_fetched_at).toBeNull();
    const renewed = expectStatus(await credentials(p.player_key), 200);
    expect(renewed.key_pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    await fetchedAgo(p.id, GRACE_SECONDS + 1);
    expectError(await credentials(p.player_key), 410, 'gone');
  });

  it('a device renewal counts as the fetch of its new key', async () => {
    const p = await registered();
    const c = expectStatus(await credentials(p.player_key), 200);
    await sql()`update players set cert_expires_at = now() + interval '10 days' where id = ${p.id}`;
    const renewed = expectStatus(await stack.api.renewDeviceCert({}, { token: c.api_token! }), 200);
    const r = await row(p.id);
    expect(r.key_fetched_at).not.toBeNull();
    expect(r.key_pem).toBe(renewed.key_pem);
    await fetchedAgo(p.id, GRACE_SECONDS + 1);
    expectError(await credentials(p.player_key), 410, 'gone');
  });

  it('a player that sent a CSR never gets a key: 200 without key_pem, before and long after its first fetch', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const alg = { name: 'ECDSA', namedCurve: 'P-256' };
    const keys = {
      privateKey: await webcrypto.subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), alg, false, ['sign']),
      publicKey: await webcrypto.subtle.importKey('spki', publicKey.export({ type: 'spki', format: 'der' }), alg, true, ['verify']),
    };
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=device',
      keys: keys as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['keys'],
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['signingAlgorithm'],
    });
    const p = await registered(csr.toString('pem') + '\n');
    const first = expectStatus(await credentials(p.player_key), 200);
    expect(first).not.toHaveProperty('key_pem');
    await fetchedAgo(p.id, 10 * GRACE_SECONDS);
    const later = expectStatus(await credentials(p.player_key), 200);
    expect(later).not.toHaveProperty('key_pem');
    expect(later.cert_pem).toBe(first.cert_pem);
    expect((await row(p.id)).api_token_hash).toEqual(sha256(later.api_token!));
  });

  it('404 for an unknown key stays 404 (not 410)', async () => {
    expectError(await credentials('0b6a7c1e-1111-4222-8333-944455556666'), 404, 'not_found');
  });
});
