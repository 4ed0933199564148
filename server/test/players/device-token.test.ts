// Protocol 1.1 REST for the p3a firmware on a real stack (Mosquitto with mTLS, PostgreSQL, the
// server, real certificates): every route also under /api; provisioning's size; the device token
// issued with the credentials (stored hashed); device-driven renewal (renewDeviceCert) inside the
// window only, for server-generated and CSR keys; token rotation, immediate or after the owner's
// approval; their rate limits.
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { compileValidator } from '#runtime/v1';
import { createClient, type Client } from '@makapix/contract/openapi/client';
import { restExamples } from '@makapix/contract/openapi/examples';
import { DeviceToken, PlayerCredentials, RenewDeviceCertResponse } from '@makapix/contract/openapi/schemas';
import { certificateInfo } from '../../src/pki/index.js';
import { connectPlayer, registerUser, startStack, uniqueHandle, type Stack, type TestUser } from '../support/stack.js';
import { endAll, expectError, expectStatus } from './helpers.js';

const DAY = 86_400_000;
const ex = restExamples;
const RENEW_PER_MINUTE = 3;
const ROTATE_PER_MINUTE = 3;
const isDeviceToken = compileValidator<DeviceToken>(DeviceToken);
const isCredentials = compileValidator<PlayerCredentials>(PlayerCredentials);
const isRenewal = compileValidator<RenewDeviceCertResponse>(RenewDeviceCertResponse);

let stack: Stack;
let api: Client; // the p3a's view: every call under /api
let owner: TestUser;
const clients: MqttClient[] = [];

beforeAll(async () => {
  stack = await startStack({
    env: { RATE_LIMIT_RENEW_CERT_PER_MINUTE: String(RENEW_PER_MINUTE), RATE_LIMIT_TOKEN_ROTATE_PER_MINUTE: String(ROTATE_PER_MINUTE) },
  });
  api = createClient(`${stack.server.url}/api`);
  owner = await registerUser(api, uniqueHandle('p3aowner'));
});

afterAll(async () => {
  await endAll(clients);
  await stack?.stop();
});

const sql = () => stack.server.ctx.sql;
const sha256 = (s: string) => createHash('sha256').update(s).digest();

interface Device {
  id: string;
  player_key: string;
  ca_pem: string;
  cert_pem: string;
  key_pem: string | undefined;
  api_token: string;
}

/** What p3a does: provision under /api, the owner registers it, credentials under /api. */
async function p3a(body: { device_model?: string; firmware_version?: string; csr_pem?: string } = ex.provisionPlayer.request.p3a): Promise<Device> {
  const p = expectStatus(await api.provisionPlayer({ body }), 201);
  const reg = expectStatus(await api.registerPlayer({ body: { registration_code: p.registration_code, name: 'Desk p3a' } }, { token: owner.token }), 201);
  const c = expectStatus(await api.getPlayerCredentials({ params: { player_key: p.player_key } }), 200);
  if (c.api_token === undefined) throw new Error('no api_token in the credentials');
  return { id: reg.id, player_key: p.player_key, ca_pem: c.ca_pem, cert_pem: c.cert_pem, key_pem: c.key_pem, api_token: c.api_token };
}

/** Moves the player's certificate expiry (as the database sees it) to `days` from now. */
async function expiresIn(playerId: string, days: number): Promise<void> {
  await sql()`update players set cert_expires_at = now() + make_interval(days => ${days}) where id = ${playerId}`;
}

async function rawPost(path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${stack.server.url}${path}`, { method: 'POST', headers, body });
  return { status: res.status, body: await res.json() };
}

describe('/api', () => {
  it('serves every operation under /api exactly as at its bare path (public, device and bearer routes)', async () => {
    const bare = stack.api;
    expect(expectStatus(await api.getHealth(), 200)).toEqual(expectStatus(await bare.getHealth(), 200));
    expect(expectStatus(await api.authMe({}, { token: owner.token }), 200)).toEqual(expectStatus(await bare.authMe({}, { token: owner.token }), 200));
    expectError(await api.authMe(), 401, 'authentication_failed');

    const p = expectStatus(await bare.provisionPlayer({ body: ex.provisionPlayer.request.esp32_p4 }), 201);
    for (const client of [api, bare]) {
      expectError(await client.getPlayerCredentials({ params: { player_key: p.player_key } }), 404, 'not_found', 'Player not registered yet');
    }
    expectStatus(await api.registerPlayer({ body: { registration_code: p.registration_code, name: 'Both ways' } }, { token: owner.token }), 201);
    for (const client of [api, bare]) {
      const c = expectStatus(await client.getPlayerCredentials({ params: { player_key: p.player_key } }), 200);
      expect(isCredentials.check(c)).toBe(true);
    }
    // validation and errors are the same too
    expectError(await api.provisionPlayer({ body: { device_model: 'p3a', surprise: 1 } as never }), 400, 'invalid_request');
    expectError(await api.rotatePlayerToken({ params: { player_key: 'not-a-uuid' } }), 400, 'invalid_request');
    const unknown = await fetch(`${stack.server.url}/api/no/such/route`);
    expect(unknown.status).toBe(404);
    expect(Object.keys((await unknown.json()) as object).sort()).toEqual(['detail', 'error', 'error_code']);
  });

  it('does not serve the vault under /api (its address is VAULT_PUBLIC_URL)', async () => {
    const path = '/vault/23/16/7c9e6679-7425-40de-944b-e07fc1f90ae7.gif';
    expect((await fetch(`${stack.server.url}${path}`)).status).toBe(404);
    const res = await fetch(`${stack.server.url}/api${path}`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error_code: string }).error_code).toBe('not_found');
  });
});

describe('provisioning and credentials as p3a needs them', () => {
  it('answers the p3a provisioning request with exactly 201 and a body under 2048 bytes with the four fields', async () => {
    const res = await fetch(`${stack.server.url}/api/player/provision`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ex.provisionPlayer.request.p3a),
    });
    expect(res.status).toBe(201);
    const text = await res.text();
    expect(Buffer.byteLength(text)).toBeLessThan(2048);
    const body = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(Object.keys(ex.provisionPlayer.responses[201].p3a).sort());
    expect(body.mqtt_broker).toEqual({ host: stack.config.broker.publicHost, port: stack.config.broker.publicPort });
    const [row] = await sql()<{ device_model: string; firmware_version: string }[]>`
      select device_model, firmware_version from players where player_key = ${body.player_key as string}`;
    expect(row).toEqual({ device_model: 'p3a', firmware_version: '1.1.1' });
  });

  it('hands out PEMs under 4096 bytes each and a device token, stored only as its SHA-256; each fetch replaces the token', async () => {
    const d = await p3a();
    for (const pem of [d.ca_pem, d.cert_pem, d.key_pem!]) expect(Buffer.byteLength(pem)).toBeLessThan(4096);
    expect(isDeviceToken.check(d.api_token)).toBe(true);
    const [row] = await sql()<{ api_token_hash: Buffer; api_token_created_at: Date; api_token_rotated_at: Date | null }[]>`
      select api_token_hash, api_token_created_at, api_token_rotated_at from players where id = ${d.id}`;
    expect(row!.api_token_hash.equals(sha256(d.api_token))).toBe(true);
    expect(row!.api_token_rotated_at).toBeNull(); // a credentials fetch is not a rotation
    const [plain] = await sql()<{ n: number }[]>`select count(*)::int as n from players where position(${d.api_token} in players::text) > 0`;
    expect(plain!.n).toBe(0);

    // a second fetch (a 1.0 client after a renewal) issues a new token; the first one dies
    const again = expectStatus(await api.getPlayerCredentials({ params: { player_key: d.player_key } }), 200);
    expect(again.api_token).not.toBe(d.api_token);
    expectError(await api.renewDeviceCert({}, { token: d.api_token }), 401, 'authentication_failed', 'Unknown or replaced device token');
    expectError(await api.renewDeviceCert({}, { token: again.api_token! }), 400, 'invalid_request');
  });
});

describe('renewDeviceCert', () => {
  it('is a 400 naming the opening date before the window, 401 without a valid device token (a user token is not one)', async () => {
    const d = await p3a();
    const r = await api.renewDeviceCert({}, { token: d.api_token });
    const notAfter = certificateInfo(d.cert_pem).notAfter;
    expectError(r, 400, 'invalid_request', `The certificate expires at ${notAfter.toISOString()}; it can be renewed from ${new Date(notAfter.getTime() - 30 * DAY).toISOString()}`);
    expectError(await api.renewDeviceCert(), 401, 'authentication_failed');
    expectError(await api.renewDeviceCert({}, { token: 'mpd_' + 'A'.repeat(43) }), 401, 'authentication_failed', 'Unknown or replaced device token');
    expectError(await api.renewDeviceCert({}, { token: owner.token }), 401, 'authentication_failed');
    expectError(await rawPost('/api/player/renew-cert', { authorization: `Token ${d.api_token}` }), 401, 'authentication_failed');
  });

  it('inside the window: a new certificate and key (p3a, no body but a JSON content type), served by credentials too; both certificates connect', async () => {
    const d = await p3a();
    await expiresIn(d.id, 20);
    const before = certificateInfo(d.cert_pem);
    const r = await rawPost('/api/player/renew-cert', { authorization: `Bearer ${d.api_token}`, 'content-type': 'application/json' }, '');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const body = r.body as RenewDeviceCertResponse;
    expect(isRenewal.check(body)).toBe(true);
    expect(Object.keys(body).sort()).toEqual(Object.keys(ex.renewDeviceCert.responses[200].p3a_renewal).sort());
    expect(body.ca_pem).toBe(d.ca_pem);
    const next = certificateInfo(body.cert_pem);
    expect(next.commonName).toBe(d.player_key);
    expect(next.serialHex).not.toBe(before.serialHex);
    expect(next.notAfter.toISOString()).toBe(body.cert_expires_at);
    expect(Math.abs(next.notAfter.getTime() - (Date.now() + 365 * DAY))).toBeLessThan(60_000);
    expect(new X509Certificate(body.cert_pem).checkPrivateKey(createPrivateKey(body.key_pem!))).toBe(true);
    const [row] = await sql()<{ cert_serial: string; previous_cert_serial: string }[]>`select cert_serial, previous_cert_serial from players where id = ${d.id}`;
    expect(row).toEqual({ cert_serial: next.serialHex, previous_cert_serial: before.serialHex });

    // the token still works (renewal does not rotate it); now not due again
    expectError(await api.renewDeviceCert({}, { token: d.api_token }), 400, 'invalid_request');
    // make-before-break: the new certificate connects, and so does the old one
    const fresh = await connectPlayer(stack, { ...d, cert_pem: body.cert_pem, key_pem: body.key_pem! });
    clients.push(fresh);
    await fresh.endAsync();
    const old = await connectPlayer(stack, { ...d, key_pem: d.key_pem! });
    clients.push(old);
    await old.endAsync();
  });

  it('renews an expired certificate too', async () => {
    const d = await p3a();
    await expiresIn(d.id, -3);
    expectStatus(await api.renewDeviceCert({}, { token: d.api_token }), 200);
  });

  it('renews a player that provisioned with a CSR for the same key, without key_pem', async () => {
    const d = await p3a(ex.provisionPlayer.request.esp32_p4_with_csr);
    expect(d.key_pem).toBeUndefined();
    await expiresIn(d.id, 5);
    const body = expectStatus(await api.renewDeviceCert({}, { token: d.api_token }), 200);
    expect(body.key_pem).toBeUndefined();
    expect(Object.keys(body).sort()).toEqual(Object.keys(ex.renewDeviceCert.responses[200].csr_player_renewal).sort());
    const spki = (pem: string) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
    expect(spki(body.cert_pem).equals(spki(d.cert_pem))).toBe(true);
    const [row] = await sql()<{ key_pem: string | null }[]>`select key_pem from players where id = ${d.id}`;
    expect(row!.key_pem).toBeNull();
  });

  it(`answers 429 with Retry-After beyond ${RENEW_PER_MINUTE} calls per player per window`, async () => {
    const d = await p3a();
    let limited: Awaited<ReturnType<typeof api.renewDeviceCert>> | undefined;
    let counted = 0;
    for (let i = 0; i < 2 * RENEW_PER_MINUTE + 1 && !limited; i++) {
      const r = await api.renewDeviceCert({}, { token: d.api_token });
      if (r.status === 429) limited = r;
      else counted += 1;
    }
    expect(counted).toBeGreaterThanOrEqual(RENEW_PER_MINUTE);
    expectError(limited!, 429, 'rate_limit_exceeded', /^Rate limit exceeded; retry in \d+ seconds/);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // another player is not affected
    const other = await p3a();
    expectError(await api.renewDeviceCert({}, { token: other.api_token }), 400, 'invalid_request');
  });
});

describe('rotatePlayerToken (immediate, the default)', () => {
  it('gives a new token and kills the old one; the owner sees when; 404 for an unknown or pending key', async () => {
    const d = await p3a();
    const before = Date.now();
    const r = await rawPost(`/api/player/${d.player_key}/token/rotate`, { 'content-type': 'application/json' }, '');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const { api_token } = r.body as { api_token: string };
    expect(Object.keys(r.body as object)).toEqual(Object.keys(ex.rotatePlayerToken.responses[200].p3a_rotation));
    expect(isDeviceToken.check(api_token)).toBe(true);
    expectError(await api.renewDeviceCert({}, { token: d.api_token }), 401, 'authentication_failed');
    expectError(await api.renewDeviceCert({}, { token: api_token }), 400, 'invalid_request');

    const seen = expectStatus(await api.getPlayer({ params: { sqid: owner.sqid, player_id: d.id } }, { token: owner.token }), 200);
    expect(Date.parse(seen.api_token_rotated_at!)).toBeGreaterThanOrEqual(before - 5_000);
    expect(seen.api_token_rotation_requested_at).toBeNull();

    // approving is for the other mode only
    expectError(
      await api.approvePlayerTokenRotation({ params: { sqid: owner.sqid, player_id: d.id } }, { token: owner.token }),
      409, 'conflict', 'No token rotation is waiting for approval',
    );
    expectError(await api.rotatePlayerToken({ params: { player_key: '00000000-0000-4000-8000-000000000000' } }), 404, 'not_found', 'No registered player has this key');
    const pending = expectStatus(await api.provisionPlayer({ body: ex.provisionPlayer.request.p3a }), 201);
    expectError(await api.rotatePlayerToken({ params: { player_key: pending.player_key } }), 404, 'not_found');
  });

  it(`answers 429 with Retry-After beyond ${ROTATE_PER_MINUTE} rotations per player_key per window`, async () => {
    const d = await p3a();
    let limited: Awaited<ReturnType<typeof api.rotatePlayerToken>> | undefined;
    let ok = 0;
    for (let i = 0; i < 2 * ROTATE_PER_MINUTE + 1 && !limited; i++) {
      const r = await api.rotatePlayerToken({ params: { player_key: d.player_key } });
      if (r.status === 429) limited = r;
      else {
        expect(r.status).toBe(200);
        ok += 1;
      }
    }
    expect(ok).toBeGreaterThanOrEqual(ROTATE_PER_MINUTE);
    expectError(limited!, 429, 'rate_limit_exceeded');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });
});

describe('rotatePlayerToken with DEVICE_TOKEN_ROTATION=owner_confirmation', () => {
  it('answers 202 pending (old token kept) until the owner approves; then the next call rotates', async () => {
    // (more rotation calls than this file's limit of 3 per window: that limit is tested above)
    const confirming = await stack.addServer({ DEVICE_TOKEN_ROTATION: 'owner_confirmation', RATE_LIMIT_TOKEN_ROTATE_PER_MINUTE: '100' });
    const device = createClient(`${confirming.url}/api`);
    const d = await p3a();
    const stranger = await registerUser(api, uniqueHandle('stranger'));

    const first = expectStatus(await device.rotatePlayerToken({ params: { player_key: d.player_key } }), 202);
    expect(first.status).toBe('pending');
    const second = expectStatus(await device.rotatePlayerToken({ params: { player_key: d.player_key } }), 202);
    expect(second.requested_at).toBe(first.requested_at); // the first request time is kept
    expectError(await device.renewDeviceCert({}, { token: d.api_token }), 400, 'invalid_request'); // still valid

    const shown = expectStatus(await device.getPlayer({ params: { sqid: owner.sqid, player_id: d.id } }, { token: owner.token }), 200);
    expect(shown.api_token_rotation_requested_at).toBe(first.requested_at);
    expect(shown.api_token_rotated_at).toBeNull();

    const params = { sqid: owner.sqid, player_id: d.id };
    expectError(await device.approvePlayerTokenRotation({ params }, { token: stranger.token }), 403, 'forbidden');
    expectError(await device.approvePlayerTokenRotation({ params }), 401, 'authentication_failed');
    const approved = expectStatus(await device.approvePlayerTokenRotation({ params }, { token: owner.token }), 200);
    expect(Object.keys(approved).sort()).toEqual(Object.keys(ex.approvePlayerTokenRotation.responses[200].approved).sort());
    expect(approved.api_token_rotation_requested_at).toBe(first.requested_at);

    const rotated = expectStatus(await device.rotatePlayerToken({ params: { player_key: d.player_key } }), 200);
    expectError(await device.renewDeviceCert({}, { token: d.api_token }), 401, 'authentication_failed');
    expectError(await device.renewDeviceCert({}, { token: rotated.api_token }), 400, 'invalid_request');
    const after = expectStatus(await device.getPlayer({ params }, { token: owner.token }), 200);
    expect(after.api_token_rotation_requested_at).toBeNull();
    expect(after.api_token_rotated_at).not.toBeNull();

    // the approval was used up: the next request waits again
    expectStatus(await device.rotatePlayerToken({ params: { player_key: d.player_key } }), 202);
  });
});
