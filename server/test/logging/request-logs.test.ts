// Secrets stay out of the logs of a real server: the player_key of GET /player/{player_key}/credentials
// and of MQTT topics, passwords, bearer tokens and Authorization headers. The server logs at trace
// level into a captured pino destination while a user and a player go through their lifecycle.
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from '@makapix/contract/openapi/client';
import { connectPlayer, provisionPlayer, registerUser, startStack, type Stack } from '../support/stack.js';

let stack: Stack;
let api: Client;
const lines: string[] = [];

beforeAll(async () => {
  // the stack's own server runs no MQTT workers, so the captured server handles every status message
  stack = await startStack({ workers: false });
  const log = pino({ level: 'trace' }, { write: (s: string) => void lines.push(s) });
  const server = await stack.addServer({}, { log, workers: true });
  api = createClient(server.url);
});

afterAll(async () => {
  await stack?.stop();
});

const parsed = () => lines.map((l) => JSON.parse(l) as Record<string, unknown> & { msg?: string });

describe('request and MQTT logs', () => {
  it('never contain the player_key, passwords, tokens or Authorization headers', async () => {
    const password = 'correct horse battery';
    const owner = await registerUser(api);
    const login = await api.authLogin({ body: { email: `${owner.handle}@example.test`, password } });
    if (login.status !== 200) throw new Error(`login: ${login.status}`);
    const wrong = await api.authLogin({ body: { email: `${owner.handle}@example.test`, password: 'a wrong password 123' } });
    expect(wrong.status).toBe(401);
    const short = await api.authRegister({ body: { handle: `${owner.handle}b`, email: `${owner.handle}b@example.test`, password: 'short1' } });
    expect(short.status).toBe(400);
    expect((await api.authMe({}, { token: owner.token })).status).toBe(200);

    const player = await provisionPlayer(api, owner); // GET /player/{player_key}/credentials among its requests
    const again = await api.getPlayerCredentials({ params: { player_key: player.player_key } });
    expect(again.status).toBe(200);
    const unknownKey = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
    expect((await api.getPlayerCredentials({ params: { player_key: unknownKey } })).status).toBe(404);

    // an MQTT status message the server drops: its warning names the topic
    const device = await connectPlayer(stack, player);
    try {
      await device.publishAsync(`makapix/player/${player.player_key}/status`, '{"not":"a status"}', { qos: 1 });
      const deadline = Date.now() + 5_000;
      while (!parsed().some((l) => l.msg === 'player status dropped') && Date.now() < deadline) await sleep(20);
    } finally {
      await device.endAsync();
    }

    const all = lines.join('\n');
    const entries = parsed();
    // the redacted form is what is logged
    const credentialRequests = entries.filter((l) => l.msg === 'incoming request' && JSON.stringify(l.req).includes('/credentials'));
    expect(credentialRequests.length).toBe(3);
    for (const l of credentialRequests) expect((l.req as { url: string }).url).toBe('/player/<redacted>/credentials');
    const dropped = entries.find((l) => l.msg === 'player status dropped');
    expect(dropped?.topic).toBe('makapix/player/<redacted>/status');
    // ... and the secrets are not, anywhere
    for (const secret of [player.player_key, unknownKey, password, 'a wrong password 123', 'short1', owner.token, login.body.token, 'Bearer ']) {
      expect(all).not.toContain(secret);
    }
    expect(all.toLowerCase()).not.toContain('authorization');
    expect(all).not.toContain('PRIVATE KEY');
  });

  it('censors secret fields logged by name', () => {
    const before = lines.length;
    stack.servers.at(-1)!.ctx.log.warn(
      { password: 'p1', headers: { authorization: 'Bearer t1', cookie: 'c1' }, user: { token: 't2', password: 'p2' }, playerKey: 'k1', topic_key: 'k2' },
      'fields',
    );
    const line = lines.slice(before).join('\n');
    for (const secret of ['p1', 'p2', 't1', 't2', 'c1', 'k1', 'k2']) expect(line).not.toContain(`"${secret}"`);
    expect(line).toContain('<redacted>');
  });
});
