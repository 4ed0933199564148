// The player lifecycle on a real stack (Mosquitto with mTLS, PostgreSQL, the server, real
// certificates): provision -> register -> credentials -> mTLS connect -> commands -> renew ->
// delete (certificate revoked, live session ended), with the owner routes' permissions.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { PlayerCommandMessageValidator, playerCommandTopic, playerRequestTopic, playerStatusTopic } from '@makapix/contract/asyncapi/channels';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import { createClient } from '@makapix/contract/openapi/client';
import { restExamples } from '@makapix/contract/openapi/examples';
import { REGISTRATION_CODE_ALPHABET } from '../../src/auth/index.js';
import { certificateInfo } from '../../src/pki/index.js';
import { x509 } from '../../src/pki/x509.js';
import {
  connectInternal, connectPlayer, provisionPlayer, registerModerator, registerUser, startStack, uniqueHandle,
  type Stack, type TestPlayer, type TestUser,
} from '../support/stack.js';
import { closed, collect, connectError, endAll, expectError, expectStatus, insertPost, internalId, publishReason } from './helpers.js';

const DAY = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let stack: Stack;
let owner: TestUser;
let other: TestUser;
let moderator: TestUser;
const clients: MqttClient[] = [];
const track = <T extends MqttClient>(c: T): T => {
  clients.push(c);
  return c;
};

beforeAll(async () => {
  stack = await startStack();
  owner = await registerUser(stack.api, uniqueHandle('owner'));
  other = await registerUser(stack.api, uniqueHandle('other'));
  moderator = await registerModerator(stack);
});

afterAll(async () => {
  await endAll(clients);
  await stack?.stop();
});

const sql = () => stack.server.ctx.sql;
const ex = restExamples;

describe('provision, register, credentials', () => {
  it('provisions a pending player, answers 404 for its credentials until an owner registers it with the code (any case)', async () => {
    const before = Date.now();
    const p = expectStatus(await stack.api.provisionPlayer({ body: ex.provisionPlayer.request.esp32_p4 }), 201);
    expect(p.player_key).toMatch(UUID);
    expect(p.registration_code).toMatch(new RegExp(`^[${REGISTRATION_CODE_ALPHABET}]{6}$`));
    const expires = Date.parse(p.registration_code_expires_at);
    expect(expires).toBeGreaterThanOrEqual(before + 15 * 60_000 - 5_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 15 * 60_000 + 5_000);
    expect(p.mqtt_broker).toEqual({ host: stack.config.broker.publicHost, port: stack.config.broker.publicPort });

    expectError(await stack.api.getPlayerCredentials({ params: { player_key: p.player_key } }), 404, 'not_found', 'Player not registered yet');

    const reg = await stack.api.registerPlayer(
      { body: { registration_code: p.registration_code.toLowerCase(), name: '  Living Room Player ' } },
      { token: owner.token },
    );
    const player = expectStatus(reg, 201);
    expect(Object.keys(player).sort()).toEqual(Object.keys(ex.registerPlayer.responses[201].living_room).sort());
    expect(player).toMatchObject({
      player_key: p.player_key,
      owner_id: owner.user_id,
      name: 'Living Room Player',
      device_model: 'ESP32-P4-Function-EV-Board',
      firmware_version: '1.0.0',
      registration_status: 'registered',
      connection_status: 'offline',
      last_seen_at: null,
      current_post_id: null,
    });
    expect(Math.abs(Date.parse(player.cert_expires_at) - (Date.now() + 365 * DAY))).toBeLessThan(60_000);

    // the code is used up
    expectError(
      await stack.api.registerPlayer({ body: { registration_code: p.registration_code, name: 'Again' } }, { token: other.token }),
      404, 'not_found', 'Invalid or expired registration code',
    );

    const creds = expectStatus(await stack.api.getPlayerCredentials({ params: { player_key: p.player_key } }), 200);
    expect(creds.ca_pem).toBe(stack.server.ctx.ca.certPem);
    expect(creds.broker).toEqual(p.mqtt_broker);
    const info = certificateInfo(creds.cert_pem);
    expect(info.commonName).toBe(p.player_key);
    expect(info.clientAuth).toBe(true);
    expect(info.notAfter.toISOString()).toBe(player.cert_expires_at);
    const [row] = await sql()<{ cert_serial: string; registration_code: string | null; owner_id: number }[]>`
      select cert_serial, registration_code, owner_id from players where player_key = ${p.player_key}`;
    expect(row).toEqual({ cert_serial: info.serialHex, registration_code: null, owner_id: await internalId(sql(), owner.user_id) });
  });

  it('refuses an unknown or expired code (404) and a 129th player (409)', async () => {
    expectError(
      await stack.api.registerPlayer({ body: ex.registerPlayer.request.expired_code }, { token: owner.token }),
      404, 'not_found', 'Invalid or expired registration code',
    );
    const expired = expectStatus(await stack.api.provisionPlayer({ body: {} }), 201);
    await sql()`update players set registration_code_expires_at = now() - interval '1 second' where player_key = ${expired.player_key}`;
    expectError(
      await stack.api.registerPlayer({ body: { registration_code: expired.registration_code, name: 'Late' } }, { token: owner.token }),
      404, 'not_found',
    );

    const busy = await registerUser(stack.api, uniqueHandle('busy'));
    const busyId = await internalId(sql(), busy.user_id);
    await sql()`
      insert into players (owner_id, name, registration_status, registered_at)
      select ${busyId}, 'Player ' || g, 'registered', now() from generate_series(1, 128) g`;
    const p = expectStatus(await stack.api.provisionPlayer({ body: {} }), 201);
    expectError(
      await stack.api.registerPlayer({ body: { registration_code: p.registration_code, name: 'One too many' } }, { token: busy.token }),
      409, 'conflict',
    );
    const [row] = await sql()<{ registration_status: string }[]>`select registration_status from players where player_key = ${p.player_key}`;
    expect(row!.registration_status).toBe('pending');
  });

  it('holds the per-user limit when registrations of one user race for the last place', async () => {
    const racer = await registerUser(stack.api, uniqueHandle('racer'));
    const racerId = await internalId(sql(), racer.user_id);
    await sql()`
      insert into players (owner_id, name, registration_status, registered_at)
      select ${racerId}, 'Player ' || g, 'registered', now() from generate_series(1, 126) g`;
    const pending = await Promise.all(Array.from({ length: 6 }, async () => expectStatus(await stack.api.provisionPlayer({ body: {} }), 201)));
    const answers = await Promise.all(
      pending.map((p, i) => stack.api.registerPlayer({ body: { registration_code: p.registration_code, name: `Racer ${i}` } }, { token: racer.token })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 409, 409, 409, 409]);
    const [n] = await sql()<{ n: number }[]>`select count(*)::int as n from players where owner_id = ${racerId}`;
    expect(n!.n).toBe(128);
  });
});

describe('commands and topic isolation over mTLS', () => {
  let a: TestPlayer;
  let b: TestPlayer;
  let pa: MqttClient;
  let pb: MqttClient;

  beforeAll(async () => {
    a = await provisionPlayer(stack.api, owner, 'Player A');
    b = await provisionPlayer(stack.api, other, 'Player B');
    pa = track(await connectPlayer(stack, a));
    pb = track(await connectPlayer(stack, b));
  });

  it('delivers a REST command to the player (valid PlayerCommandMessage) and to no other player; logs it', async () => {
    const aTopic = playerCommandTopic.format({ player_key: a.player_key });
    const bTopic = playerCommandTopic.format({ player_key: b.player_key });
    const toA = collect(pa);
    const toB = collect(pb);
    await pa.subscribeAsync(aTopic, { qos: 1 });
    // acl_file grants the SUBSCRIBE; it must filter at delivery.
    await pb.subscribeAsync([aTopic, bTopic], { qos: 1 });

    const ownerId = await internalId(sql(), owner.user_id);
    const post = await insertPost(sql(), await internalId(sql(), other.user_id));
    const r = await stack.api.sendPlayerCommand(
      { params: { sqid: owner.sqid, player_id: a.id }, body: { command_type: 'show_artwork', post_id: post.post_id } },
      { token: owner.token },
    );
    const sent = expectStatus(r, 200);
    expect(sent.status).toBe('sent');

    const got = await toA.next((m) => m.topic === aTopic);
    const message: unknown = JSON.parse(got.payload);
    expect(PlayerCommandMessageValidator.check(message), PlayerCommandMessageValidator.explain(message)).toBe(true);
    expect(Object.keys(message as object).sort()).toEqual(Object.keys(messageExamples.ShowArtworkCommand.show_artwork).sort());
    expect(message).toMatchObject({
      command_id: sent.command_id,
      command_type: 'show_artwork',
      payload: { post_id: post.post_id, storage_key: post.storage_key, art_url: post.art_url, canvas: post.canvas },
    });

    // B's own command, sent after A's: once B has it, A's would have arrived too.
    const rb = await stack.api.sendPlayerCommand(
      { params: { sqid: other.sqid, player_id: b.id }, body: { command_type: 'swap_next' } },
      { token: other.token },
    );
    const sentB = expectStatus(rb, 200);
    const gotB = await toB.next((m) => m.topic === bTopic);
    expect(JSON.parse(gotB.payload)).toMatchObject({ command_id: sentB.command_id, command_type: 'swap_next', payload: {} });
    expect(toB.messages.filter((m) => m.topic === aTopic)).toEqual([]);

    const logged = await sql()<{ player_key: string; issued_by: number; command_type: string; payload: unknown }[]>`
      select player_key, issued_by, command_type, payload from player_commands where command_id = ${sent.command_id}`;
    expect(logged).toEqual([{ player_key: a.player_key, issued_by: ownerId, command_type: 'show_artwork', payload: (message as { payload: unknown }).payload }]);
  });

  it('refuses a publish on another player\'s request topic (PUBACK 135) and accepts one on its own status topic', async () => {
    const req = { ...messageExamples.SubmitViewRequest.automated_default, player_key: a.player_key };
    const foreign = playerRequestTopic.format({ player_key: b.player_key, request_id: req.request_id });
    expect(await publishReason(pa, foreign, JSON.stringify(req))).toBe(135);
    const status = { ...messageExamples.PlayerStatus.heartbeat, player_key: a.player_key };
    expect(await publishReason(pa, playerStatusTopic.format({ player_key: a.player_key }), JSON.stringify(status))).toBe(0);
  });

  it('checks the command body: show_artwork needs a visible post, swaps take none', async () => {
    const params = { sqid: owner.sqid, player_id: a.id };
    const opts = { token: owner.token };
    expectError(await stack.api.sendPlayerCommand({ params, body: ex.sendPlayerCommand.request.show_artwork_without_post }, opts), 400, 'invalid_request', /post_id/);
    expectError(await stack.api.sendPlayerCommand({ params, body: { command_type: 'swap_back', post_id: 1 } }, opts), 400, 'invalid_request', /post_id/);
    expectError(await stack.api.sendPlayerCommand({ params, body: { command_type: 'show_artwork', post_id: 2_000_000_000 } }, opts), 404, 'not_found');
    const otherId = await internalId(sql(), other.user_id);
    const hidden = await insertPost(sql(), otherId, { hiddenByMod: true });
    const invisible = await insertPost(sql(), otherId, { visible: false });
    for (const p of [hidden, invisible]) {
      expectError(await stack.api.sendPlayerCommand({ params, body: { command_type: 'show_artwork', post_id: p.post_id } }, opts), 404, 'not_found');
    }
    // the owner's own invisible post may be shown on its own player
    const own = await insertPost(sql(), await internalId(sql(), owner.user_id), { visible: false });
    expectStatus(await stack.api.sendPlayerCommand({ params, body: { command_type: 'show_artwork', post_id: own.post_id } }, opts), 200);
    const [count] = await sql()<{ n: number }[]>`
      select count(*)::int as n from player_commands where player_key = ${a.player_key} and payload ->> 'post_id' in (${String(hidden.post_id)}, ${String(invisible.post_id)})`;
    expect(count!.n).toBe(0);
  });

  it('command/all reaches every player of the user, offline ones too', async () => {
    const offline = await provisionPlayer(stack.api, owner, 'Offline Player');
    const aTopic = playerCommandTopic.format({ player_key: a.player_key });
    const toA = collect(pa);
    const listener = track(await connectInternal(stack));
    const seen = collect(listener);
    await listener.subscribeAsync(playerCommandTopic.filter(), { qos: 1 });

    const r = await stack.api.sendCommandToAllPlayers({ params: { sqid: owner.sqid }, body: ex.sendCommandToAllPlayers.request.swap_next }, { token: owner.token });
    const body = expectStatus(r, 200);
    const keys = (await sql()<{ player_key: string }[]>`
      select player_key from players where owner_id = ${await internalId(sql(), owner.user_id)} and registration_status = 'registered'`).map((x) => x.player_key);
    expect(body.sent_count).toBe(keys.length);
    expect(keys).toEqual(expect.arrayContaining([a.player_key, offline.player_key]));
    expect(body.commands).toHaveLength(keys.length);
    const ids = body.commands.map((c) => c.command_id);
    const onA = JSON.parse((await toA.next((m) => m.topic === aTopic && ids.includes(JSON.parse(m.payload).command_id))).payload);
    expect(onA.command_type).toBe('swap_next');
    const offTopic = playerCommandTopic.format({ player_key: offline.player_key });
    const onOffline = JSON.parse((await seen.next((m) => m.topic === offTopic)).payload);
    expect(ids).toContain(onOffline.command_id);
    const logged = await sql()<{ command_id: string }[]>`select command_id from player_commands where command_id = any(${ids}::uuid[])`;
    expect(logged.map((x) => x.command_id).sort()).toEqual([...ids].sort());

    const empty = await registerUser(stack.api, uniqueHandle('nobody'));
    expect(expectStatus(await stack.api.sendCommandToAllPlayers({ params: { sqid: empty.sqid }, body: { command_type: 'swap_back' } }, { token: empty.token }), 200))
      .toEqual({ sent_count: 0, commands: [] });
  });
});

describe('owner routes', () => {
  let p: TestPlayer;
  beforeAll(async () => {
    p = await provisionPlayer(stack.api, other, 'Kitchen');
  });

  it('lists, reads and renames for the owner and for a moderator; 403 for another user; 404 for unknown ids', async () => {
    const list = expectStatus(await stack.api.listPlayers({ params: { sqid: other.sqid } }, { token: other.token }), 200);
    expect(list.players.map((x) => x.id)).toContain(p.id);
    const registered = list.players.map((x) => Date.parse(x.registered_at));
    expect([...registered].sort((x, y) => x - y)).toEqual(registered);

    expectError(await stack.api.listPlayers({ params: { sqid: other.sqid } }, { token: owner.token }), 403, 'forbidden');
    expectError(await stack.api.getPlayer({ params: { sqid: other.sqid, player_id: p.id } }, { token: owner.token }), 403, 'forbidden');
    expectError(
      await stack.api.sendPlayerCommand({ params: { sqid: other.sqid, player_id: p.id }, body: { command_type: 'swap_next' } }, { token: owner.token }),
      403, 'forbidden',
    );
    expectError(await stack.api.deletePlayer({ params: { sqid: other.sqid, player_id: p.id } }, { token: owner.token }), 403, 'forbidden');
    expectError(await stack.api.listPlayers({ params: { sqid: other.sqid } }), 401, 'authentication_failed');

    const asMod = expectStatus(await stack.api.getPlayer({ params: { sqid: other.sqid, player_id: p.id } }, { token: moderator.token }), 200);
    expect(asMod).toMatchObject({ id: p.id, player_key: p.player_key, owner_id: other.user_id, name: 'Kitchen' });

    const renamed = expectStatus(
      await stack.api.updatePlayer({ params: { sqid: other.sqid, player_id: p.id }, body: ex.updatePlayer.request.rename }, { token: other.token }),
      200,
    );
    expect(renamed.name).toBe('Kitchen Player');
    expectError(await stack.api.updatePlayer({ params: { sqid: other.sqid, player_id: p.id }, body: { name: '   ' } }, { token: other.token }), 400, 'invalid_request');

    // a player of another user under one's own sqid is a 404, as is an unknown sqid
    expectError(await stack.api.getPlayer({ params: { sqid: owner.sqid, player_id: p.id } }, { token: owner.token }), 404, 'not_found');
    expectError(await stack.api.listPlayers({ params: { sqid: 'zzzzzzzzzzzz' } }, { token: moderator.token }), 404, 'not_found');
  });

  it('renew-cert: 400 with the opening date for a fresh certificate; within 30 days a new one, served by credentials', async () => {
    const params = { sqid: other.sqid, player_id: p.id };
    const r = await stack.api.renewPlayerCert({ params }, { token: other.token });
    expectError(r, 400, 'invalid_request', /^The certificate expires at .+Z; it can be renewed from .+Z$/);
    const current = certificateInfo(p.cert_pem);
    const opens = new Date(current.notAfter.getTime() - 30 * DAY).toISOString();
    expect((r.body as { error: string }).error).toContain(opens);

    // 10 days before expiry (as the database sees it)
    await sql()`update players set cert_expires_at = now() + interval '10 days' where id = ${p.id}`;
    const renewed = expectStatus(await stack.api.renewPlayerCert({ params }, { token: other.token }), 200);
    expect(Math.abs(Date.parse(renewed.cert_expires_at) - (Date.now() + 365 * DAY))).toBeLessThan(60_000);
    expect(renewed.message).toContain(`/player/${p.player_key}/credentials`);
    const creds = expectStatus(await stack.api.getPlayerCredentials({ params: { player_key: p.player_key } }), 200);
    const next = certificateInfo(creds.cert_pem);
    expect(creds.key_pem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(next.serialHex).not.toBe(current.serialHex);
    expect(next.commonName).toBe(p.player_key);
    expect(next.notAfter.toISOString()).toBe(renewed.cert_expires_at);
    const [row] = await sql()<{ cert_serial: string; previous_cert_serial: string }[]>`
      select cert_serial, previous_cert_serial from players where id = ${p.id}`;
    expect(row).toEqual({ cert_serial: next.serialHex, previous_cert_serial: current.serialHex });

    // both certificates work until the player is deleted (the old one is not revoked by a renewal)
    await track(await connectPlayer(stack, { ...p, cert_pem: creds.cert_pem, key_pem: creds.key_pem! })).endAsync();
    await track(await connectPlayer(stack, p)).endAsync();
  });
});

describe('delete', () => {
  it('revokes the certificate(s), ends the live session (will published) and refuses the reconnect; other players stay', async () => {
    const victim = await provisionPlayer(stack.api, owner, 'Doomed');
    const bystander = await provisionPlayer(stack.api, owner, 'Bystander');
    const statusTopic = playerStatusTopic.format({ player_key: victim.player_key });
    const will = { topic: statusTopic, payload: Buffer.from(JSON.stringify({ player_key: victim.player_key, status: 'offline' })), qos: 1 as const, retain: false };
    const listener = track(await connectInternal(stack));
    const seen = collect(listener);
    await listener.subscribeAsync(statusTopic, { qos: 1 });
    const v = track(await connectPlayer(stack, victim, { protocolVersion: 4, will }));
    const by = track(await connectPlayer(stack, bystander));
    const gone = closed(v);

    const r = await stack.api.deletePlayer({ params: { sqid: owner.sqid, player_id: victim.id } }, { token: owner.token });
    expect(r.status).toBe(204);
    await gone;
    await seen.next((m) => m.topic === statusTopic && m.payload.includes('offline'));
    const err = await connectError(connectPlayer(stack, victim));
    expect(String(err.code ?? err.message)).toMatch(/REVOKED|revoked/);
    expect(by.connected).toBe(true);
    expect(await publishReason(by, playerStatusTopic.format({ player_key: bystander.player_key }), JSON.stringify({ player_key: bystander.player_key, status: 'online' }))).toBe(0);

    expectError(await stack.api.getPlayer({ params: { sqid: owner.sqid, player_id: victim.id } }, { token: owner.token }), 404, 'not_found');
    expectError(await stack.api.deletePlayer({ params: { sqid: owner.sqid, player_id: victim.id } }, { token: owner.token }), 404, 'not_found');
    expectError(await stack.api.getPlayerCredentials({ params: { player_key: victim.player_key } }), 404, 'not_found');
    const serial = certificateInfo(victim.cert_pem).serialHex;
    const revoked = await sql()<{ serial: string }[]>`select serial from revoked_certificates where player_key = ${victim.player_key}`;
    expect(revoked.map((x) => x.serial)).toEqual([serial]);
    expect(crlSerials()).toContain(serial);
  });

  it('revokes the previous certificate of a renewed player too', async () => {
    const p = await provisionPlayer(stack.api, owner, 'Renewed');
    const first = certificateInfo(p.cert_pem).serialHex;
    await sql()`update players set cert_expires_at = now() + interval '5 days' where id = ${p.id}`;
    expectStatus(await stack.api.renewPlayerCert({ params: { sqid: owner.sqid, player_id: p.id } }, { token: owner.token }), 200);
    const second = certificateInfo(expectStatus(await stack.api.getPlayerCredentials({ params: { player_key: p.player_key } }), 200).cert_pem).serialHex;
    expect((await stack.api.deletePlayer({ params: { sqid: owner.sqid, player_id: p.id } }, { token: moderator.token })).status).toBe(204);
    const revoked = await sql()<{ serial: string }[]>`select serial from revoked_certificates where player_key = ${p.player_key} order by serial`;
    expect(revoked.map((x) => x.serial)).toEqual([first, second].sort());
    expect(crlSerials()).toEqual(expect.arrayContaining([first, second]));
    const err = await connectError(connectPlayer(stack, p));
    expect(String(err.code ?? err.message)).toMatch(/REVOKED|revoked/);
  });

  it('a starting server rewrites the CRL from the database (a lost CRL file does not bring revoked players back)', async () => {
    const expected = (await sql()<{ serial: string }[]>`select serial from revoked_certificates`).map((x) => x.serial);
    expect(expected.length).toBeGreaterThan(0);
    writeFileSync(stack.config.broker.crlFile!, '');
    const second = await stack.addServer();
    expect(crlSerials().sort()).toEqual([...expected].sort());
    expect(expectStatus(await createClient(second.url).getReadiness(), 200).status).toBe('ok');
  });
});

describe('health', () => {
  it('healthz and readyz answer 200 ok', async () => {
    expect(expectStatus(await stack.api.getHealth(), 200)).toEqual({ status: 'ok' });
    expect(expectStatus(await stack.api.getReadiness(), 200)).toEqual({ status: 'ok', database: true, broker: true, revocations: true });
  });
});

/** Serials listed in the broker's CRL file. */
function crlSerials(): string[] {
  const crl = new x509.X509Crl(readFileSync(stack.config.broker.crlFile!, 'utf8'));
  return crl.entries.map((e) => e.serialNumber.toLowerCase());
}
