// The Makapix mobile app's calls replayed against a real stack, as the app sends them (facts in
// /work/shared/protocol/APP_MAKAPIX.md, read in the app's source): plain fetch with
// `Content-Type: application/json` on every request (DELETE and body-less POST included),
// `Authorization: Bearer <access_token>`, one single-flight refresh on a 401 and one retry, and a
// sign-out when the refresh fails. Errors are read as the app reads them: `detail`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { playerCapabilitiesTopic, playerCommandTopic, playerStateTopic } from '@makapix/contract/asyncapi/channels';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import { restExamples } from '@makapix/contract/openapi/examples';
import { signToken, verifyToken } from '../../src/auth/index.js';
import { connectInternal, connectPlayer, registerUser, startStack, TEST_PASSWORD, uniqueHandle, type Stack, type TestUser } from '../support/stack.js';
import { until } from '../support/until.js';

let stack: Stack;
const mqttClients: MqttClient[] = [];

beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await Promise.allSettled(mqttClients.map((c) => c.endAsync()));
  await stack?.stop();
});

interface AppResponse {
  status: number;
  body: any;
  headers: Headers;
}

/** What the app's Dio client does (club_api_client.dart, club_session.dart), with plain fetch. */
class MakapixApp {
  accessToken: string | null = null;
  refreshToken: string | null = null;
  refreshCalls = 0;
  /** Every request as sent: method, path and headers. */
  readonly sent: { method: string; path: string; headers: Record<string, string>; body: string }[] = [];
  private refreshing: Promise<boolean> | null = null;

  constructor(private readonly base: string) {}

  get signedIn(): boolean {
    return this.accessToken !== null;
  }

  private async raw(method: string, path: string, data: unknown, bearer: string | null): Promise<AppResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (bearer) headers.authorization = `Bearer ${bearer}`;
    // Dio sends no body at all for a call without data (fetch then sends Content-Length: 0 for POST)
    const body = data === undefined ? '' : JSON.stringify(data);
    this.sent.push({ method, path, headers, body });
    const res = await fetch(this.base + path, { method, headers, body: method === 'GET' ? undefined : body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* the app would show the text */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  }

  private async grant(data: Record<string, string>): Promise<AppResponse> {
    const r = await this.raw('POST', '/api/v1/auth/token', data, null);
    if (r.status === 200) {
      // AuthTokens.fromJson: access_token and refresh_token are required strings
      expect(typeof r.body.access_token).toBe('string');
      expect(typeof r.body.refresh_token).toBe('string');
      this.accessToken = r.body.access_token;
      this.refreshToken = r.body.refresh_token;
    }
    return r;
  }

  signIn(email: string, password: string): Promise<AppResponse> {
    return this.grant({ grant_type: 'password', email: email.trim(), password });
  }

  /** Single-flight refresh; a failure deletes the tokens (the app signs the user out). */
  refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      this.refreshCalls += 1;
      const r = await this.grant({ grant_type: 'refresh_token', refresh_token: this.refreshToken! });
      if (r.status !== 200) {
        this.accessToken = null;
        this.refreshToken = null;
        return false;
      }
      return true;
    })().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /** An authenticated call: on a 401, one refresh and one retry. */
  async call(method: string, path: string, data?: unknown): Promise<AppResponse> {
    const r = await this.raw(method, path, data, this.accessToken);
    if (r.status === 401 && this.refreshToken !== null) {
      if (await this.refresh()) return this.raw(method, path, data, this.accessToken);
    }
    return r;
  }

  /** ClubError.fromBody: what the user is shown for an error answer. */
  static shown(r: AppResponse): string {
    const b = r.body;
    if (b && typeof b === 'object') {
      if (b.error && typeof b.error === 'object') return String(b.error.message ?? 'Something went wrong.');
      if (b.detail != null) return String(b.detail);
    }
    return typeof b === 'string' && b ? b : 'Something went wrong.';
  }
}

/** A device that provisioned itself (REST, as the firmware) and shows its code. */
async function provisionDevice() {
  const p = await stack.api.provisionPlayer({ body: { device_model: 'p3a', firmware_version: '1.1.1' } });
  expect(p.status).toBe(201);
  return p.body as { player_key: string; registration_code: string };
}

async function collectCommands(playerKey: string) {
  const internal = await connectInternal(stack);
  mqttClients.push(internal);
  const got: { command_type: string; payload: unknown }[] = [];
  internal.on('message', (_t, buf) => got.push(JSON.parse(buf.toString('utf8'))));
  await internal.subscribeAsync(playerCommandTopic.format({ player_key: playerKey }), { qos: 1 });
  return got;
}

describe('the Makapix app against this server', () => {
  let user: TestUser;
  let email: string;

  beforeAll(async () => {
    const handle = uniqueHandle('app');
    user = await registerUser(stack.api, handle); // sign-up is the app's own flow, outside this protocol
    email = `${handle}@example.test`;
  });

  it('signs in, registers, lists, renames, commands and deletes a player; refreshes an expired token once; is signed out after logout-all', async () => {
    const app = new MakapixApp(stack.server.url);

    // sign in with the password grant, then /api/v1/auth/me for the sqid
    const signIn = await app.signIn(` ${email} `, TEST_PASSWORD);
    expect(signIn.status, JSON.stringify(signIn.body)).toBe(200);
    expect(Object.keys(signIn.body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type']);
    expect(signIn.body.token_type).toBe('Bearer');
    expect(signIn.body.expires_in).toBe(stack.config.auth.accessTokenTtlSeconds);
    const me = await app.call('GET', '/api/v1/auth/me');
    expect(me.status).toBe(200);
    expect(me.body.public_sqid).toBe(user.sqid);
    expect(me.body).toMatchObject({ handle: user.handle, email, roles: ['user'] });
    const sqid: string = me.body.public_sqid;

    // register the device with the code it shows (the app upper-cases and strips the code)
    const device = await provisionDevice();
    const code = device.registration_code.toUpperCase().replace(/[^A-Z0-9]/g, '').slice(0, 6);
    const reg = await app.call('POST', '/api/player/register', { registration_code: code, name: 'Desk' });
    expect(reg.status, JSON.stringify(reg.body)).toBe(201);
    expect(reg.body).toMatchObject({ player_key: device.player_key, name: 'Desk', registration_status: 'registered' });
    const playerId: string = reg.body.id;

    // the Club screens' poll reads `items`
    const list = await app.call('GET', `/api/u/${sqid}/player`);
    expect(list.status).toBe(200);
    expect(list.body.items.map((p: { id: string }) => p.id)).toEqual([playerId]);
    expect(list.body.items).toEqual(list.body.players);
    for (const field of ['id', 'player_key', 'name', 'device_model', 'firmware_version', 'connection_status', 'registration_status', 'last_seen_at', 'registered_at', 'current_post_id']) {
      expect(list.body.items[0], field).toHaveProperty(field);
    }

    const renamed = await app.call('PATCH', `/api/u/${sqid}/player/${playerId}`, { name: 'Living room' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('Living room');

    // the player bar: swap_next and swap_back reach the device; play_channel too
    const commands = await collectCommands(device.player_key);
    for (const body of [{ command_type: 'swap_next' }, { command_type: 'swap_back' }, { command_type: 'play_channel', channel_name: 'promoted' }]) {
      const r = await app.call('POST', `/api/u/${sqid}/player/${playerId}/command`, body);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body.status).toBe('sent');
    }
    await until('the three commands on the player topic', () => commands.length >= 3, 10_000);
    expect(commands.map((c) => c.command_type)).toEqual(['swap_next', 'swap_back', 'play_channel']);

    // an error is shown from `detail`, never as "Something went wrong"
    const unknownPlayer = await app.call('PATCH', `/api/u/${sqid}/player/00000000-0000-4000-8000-000000000000`, { name: 'x' });
    expect(unknownPlayer.status).toBe(404);
    expect(MakapixApp.shown(unknownPlayer)).toBe('no such player');
    const noRoute = await app.call('POST', '/api/v1/post/recent');
    expect(noRoute.status).toBe(404);
    expect(noRoute.body).toEqual({ error_code: 'not_found', error: 'no route for POST /api/v1/post/recent', detail: 'no route for POST /api/v1/post/recent' });

    // an expired access token: the app refreshes once and retries; the refresh token rotates
    const claims = verifyToken(stack.config.auth.jwtSecret, app.accessToken!);
    const refreshBefore = app.refreshToken;
    app.accessToken = signToken(stack.config.auth.jwtSecret, { sub: claims.sub, ttlSeconds: 60, now: new Date(Date.now() - 3_600_000), claims: { gen: claims.gen } }).token;
    const again = await app.call('GET', `/api/u/${sqid}/player`);
    expect(again.status).toBe(200);
    expect(again.body.items).toHaveLength(1);
    expect(app.refreshCalls).toBe(1);
    expect(app.refreshToken).not.toBe(refreshBefore);

    // remove the player: DELETE without a body, JSON content-type
    const del = await app.call('DELETE', `/api/u/${sqid}/player/${playerId}`);
    expect(del.status, JSON.stringify(del.body)).toBe(204);
    expect((await app.call('GET', `/api/u/${sqid}/player`)).body.items).toEqual([]);

    // every request carried the app's headers
    for (const s of app.sent) expect(s.headers['content-type'], `${s.method} ${s.path}`).toBe('application/json');
    expect(app.sent.filter((s) => s.method === 'DELETE').map((s) => s.body)).toEqual(['']);

    // logout from every device (here from the web, with the web's token): the app's next call gets
    // a 401, its one refresh fails, and it signs the user out
    const web = await stack.api.authLogoutAll({}, { token: user.token });
    expect(web.status).toBe(204);
    const after = await app.call('GET', `/api/u/${sqid}/player`);
    expect(after.status).toBe(401);
    expect(MakapixApp.shown(after)).toMatch(/sign in again/);
    expect(app.refreshCalls).toBe(2);
    expect(app.signedIn).toBe(false);
  });

  it('shows the device controls the player advertises and sends the matching set_* command; others are a 400 with a detail', async () => {
    const owner = await registerUser(stack.api, uniqueHandle('appdev'));
    const app = new MakapixApp(stack.server.url);
    expect((await app.signIn(`${owner.handle}@example.test`, TEST_PASSWORD)).status).toBe(200);
    const device = await provisionDevice();
    const reg = await app.call('POST', '/api/player/register', { registration_code: device.registration_code, name: 'Desk' });
    expect(reg.status).toBe(201);
    const playerId: string = reg.body.id;
    const base = `/api/u/${owner.sqid}/player/${playerId}`;

    // before the player advertised anything: no controls, and a set is refused
    const bare = (await app.call('GET', `/api/u/${owner.sqid}/player`)).body.items[0];
    expect(bare.capabilities).toBeUndefined();
    const early = await app.call('POST', `${base}/pause`, { paused: true });
    expect(early.status).toBe(400);
    expect(MakapixApp.shown(early)).toMatch(/did not advertise the pause feature/);

    // the device connects and publishes its retained capabilities and state (p3a's)
    const creds = await stack.api.getPlayerCredentials({ params: { player_key: device.player_key } });
    expect(creds.status).toBe(200);
    const c = creds.body as { ca_pem: string; cert_pem: string; key_pem: string };
    const player = await connectPlayer(stack, { player_key: device.player_key, ca_pem: c.ca_pem, cert_pem: c.cert_pem, key_pem: c.key_pem });
    mqttClients.push(player);
    await player.publishAsync(playerCapabilitiesTopic.format({ player_key: device.player_key }), JSON.stringify(messageExamples.PlayerCapabilities.p3a), { qos: 1, retain: true });
    await player.publishAsync(playerStateTopic.format({ player_key: device.player_key }), JSON.stringify(messageExamples.PlayerState.p3a), { qos: 1, retain: true });
    const item = await until('capabilities and state in the list', async () => {
      const it0 = (await app.call('GET', `/api/u/${owner.sqid}/player`)).body.items[0];
      return it0?.capabilities && it0.is_paused !== undefined ? it0 : null;
    }, 10_000);

    // read as PlayerCapabilities.fromJson reads it: features at the top of `capabilities`
    const example = restExamples.getPlayer.responses[200].p3a;
    expect(item.capabilities.pause).toEqual({});
    expect(item.capabilities.brightness).toEqual(example.capabilities!.brightness);
    expect(item.capabilities.rotation).toEqual(example.capabilities!.rotation);
    expect({ is_paused: item.is_paused, brightness: item.brightness, rotation: item.rotation })
      .toEqual({ is_paused: messageExamples.PlayerState.p3a.is_paused, brightness: messageExamples.PlayerState.p3a.brightness, rotation: messageExamples.PlayerState.p3a.rotation });

    const commands = await collectCommands(device.player_key);
    const calls: [string, unknown][] = [['pause', { paused: true }], ['brightness', { value: 40 }], ['rotation', { value: 90 }]];
    for (const [path, body] of calls) {
      const r = await app.call('POST', `${base}/${path}`, body);
      expect(r.status, `${path}: ${JSON.stringify(r.body)}`).toBe(200);
      expect(r.body.status).toBe('sent');
    }
    await until('the three set_* commands', () => commands.length >= 3, 10_000);
    expect(commands.map((m) => [m.command_type, m.payload])).toEqual([
      ['set_paused', { paused: true }], ['set_brightness', { value: 40 }], ['set_rotation', { value: 90 }],
    ]);

    // outside what the player advertised, and the mirror (no such command): a 400 the app can show
    const outside = await app.call('POST', `${base}/brightness`, { value: 101 });
    expect(outside.status).toBe(400);
    expect(MakapixApp.shown(outside)).toMatch(/value/);
    const mirror = await app.call('POST', `${base}/mirror`, { value: 'horizontal' });
    expect(mirror.status).toBe(400);
    expect(MakapixApp.shown(mirror)).toBe('value: the protocol has no mirror command; no player can advertise mirroring');
    const unknown = await app.call('POST', `/api/u/${owner.sqid}/player/00000000-0000-4000-8000-000000000000/mirror`, { value: 'horizontal' });
    expect(unknown.status).toBe(404);
    expect(commands).toHaveLength(3);
  });
});
