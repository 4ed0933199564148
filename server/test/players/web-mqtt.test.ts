// WebSocket MQTT for web users on a real stack: GET /mqtt/bootstrap credentials checked by the
// broker's dynamic-security plugin (own topics only, rotation, expiry sweep) and POST /mqtt/demo.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { PostNotificationValidator, postNewForFollowerTopic, postNewInCategoryTopic } from '@makapix/contract/asyncapi/channels';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import { createClient } from '@makapix/contract/openapi/client';
import { restExamples } from '@makapix/contract/openapi/examples';
import { MosquittoBrokerAdmin } from '../../src/broker/mosquitto/admin.js';
import { connectInternal, registerUser, startStack, uniqueHandle, type Stack, type TestUser } from '../support/stack.js';
import { closed, collect, connectError, connectWeb, endAll, expectError, expectStatus, internalId } from './helpers.js';

let stack: Stack;
let alice: TestUser;
let bob: TestUser;
const clients: MqttClient[] = [];
const track = <T extends MqttClient>(c: T): T => {
  clients.push(c);
  return c;
};

beforeAll(async () => {
  stack = await startStack();
  alice = await registerUser(stack.api, uniqueHandle('alice'));
  bob = await registerUser(stack.api, uniqueHandle('bob'));
});

afterAll(async () => {
  await endAll(clients);
  await stack?.stop();
});

const sql = () => stack.server.ctx.sql;
/** CONNACK reason code Mosquitto's dynamic-security plugin answers a bad username/password with. */
const NOT_AUTHORIZED = 135;
const wsUrl = () => stack.services.urls.mqttWebsocket;

async function bootstrap(user: TestUser) {
  return expectStatus(await stack.api.getMqttBootstrap({}, { token: user.token }), 200);
}

describe('GET /mqtt/bootstrap', () => {
  it('gives credentials the broker accepts: own follow topic and categories granted, another user\'s refused (SUBACK 135)', async () => {
    const before = Date.now();
    const b = await bootstrap(alice);
    expect(Object.keys(b).sort()).toEqual(Object.keys(restExamples.getMqttBootstrap.responses[200].web_client).sort());
    expect(b.websocket_url).toBe(stack.config.broker.publicWebsocketUrl);
    expect(b.username).toBe(alice.user_id);
    const own = postNewForFollowerTopic.filterRest({ follower_id: alice.user_id });
    expect(b.topics.subscribe).toEqual([own, postNewInCategoryTopic.filterRest()]);
    expect(Date.parse(b.expires_at)).toBeGreaterThan(before);
    const [row] = await sql()<{ username: string; token_hash: string; expires_at: Date }[]>`
      select username, token_hash, expires_at from web_mqtt_credentials where user_id = ${await internalId(sql(), alice.user_id)}`;
    expect(row).toEqual({ username: alice.user_id, token_hash: createHash('sha256').update(b.password).digest('hex'), expires_at: new Date(b.expires_at) });
    expect(row!.token_hash).not.toContain(b.password);

    const web = track(await connectWeb(wsUrl(), b.username, b.password));
    const inbox = collect(web);
    for (const filter of b.topics.subscribe) {
      const [grant] = await web.subscribeAsync(filter, { qos: 1 });
      expect(grant!.qos).toBe(1);
    }
    const foreign = postNewForFollowerTopic.filterRest({ follower_id: bob.user_id });
    await expect(web.subscribeAsync(foreign, { qos: 1 })).rejects.toMatchObject({ packet: { granted: [135] } });

    // a notification published by the server side reaches the user on its own topic, and only there
    const server = track(await connectInternal(stack));
    const note = { ...messageExamples.PostNotification.new_post, owner_id: bob.user_id, owner_handle: bob.handle };
    const mine = postNewForFollowerTopic.format({ follower_id: alice.user_id, post_id: note.post_id });
    const theirs = postNewForFollowerTopic.format({ follower_id: bob.user_id, post_id: note.post_id });
    await server.publishAsync(theirs, JSON.stringify(note), { qos: 1 });
    await server.publishAsync(mine, JSON.stringify(note), { qos: 1 });
    const got = await inbox.next((m) => m.topic === mine);
    expect(JSON.parse(got.payload)).toEqual(note);
    expect(inbox.messages.filter((m) => m.topic === theirs)).toEqual([]);
  });

  it('refuses a wrong password; a new bootstrap rotates the password and the old one is refused', async () => {
    const first = await bootstrap(bob);
    expect((await connectError(connectWeb(wsUrl(), bob.user_id, `${first.password}x`))).code).toBe(NOT_AUTHORIZED);
    const second = await bootstrap(bob);
    expect(second.password).not.toBe(first.password);
    expect((await connectError(connectWeb(wsUrl(), bob.user_id, first.password))).code).toBe(NOT_AUTHORIZED);
    await track(await connectWeb(wsUrl(), bob.user_id, second.password)).endAsync();
    // nobody else can use bob's password
    expect((await connectError(connectWeb(wsUrl(), alice.user_id, second.password))).code).toBe(NOT_AUTHORIZED);
  });

  it('the sweep removes expired credentials from the broker: the live session ends and the password stops working', async () => {
    const carol = await registerUser(stack.api, uniqueHandle('carol'));
    const b = await bootstrap(carol);
    const web = track(await connectWeb(wsUrl(), b.username, b.password));
    const alive = await bootstrap(alice); // another user's credential stays
    const gone = closed(web);
    const carolId = await internalId(sql(), carol.user_id);
    await sql()`update web_mqtt_credentials set expires_at = now() - interval '1 second' where user_id = ${carolId}`;

    const deleted = await (stack.server.ctx.brokerAdmin as MosquittoBrokerAdmin).webUsers!.sweepWebCredentials();
    expect(deleted).toEqual([carol.user_id]);
    await gone;
    expect((await connectError(connectWeb(wsUrl(), b.username, b.password))).code).toBe(NOT_AUTHORIZED);
    expect(await sql()`select 1 from web_mqtt_credentials where user_id = ${carolId}`).toHaveLength(0);
    await track(await connectWeb(wsUrl(), alive.username, alive.password)).endAsync();

    // a later bootstrap works again
    const again = await bootstrap(carol);
    await track(await connectWeb(wsUrl(), again.username, again.password)).endAsync();
  });
});

describe('POST /mqtt/demo', () => {
  it('publishes a valid notification on the caller\'s own topic (202)', async () => {
    const b = await bootstrap(alice);
    const web = track(await connectWeb(wsUrl(), b.username, b.password));
    const inbox = collect(web);
    await web.subscribeAsync(b.topics.subscribe[0]!, { qos: 1 });
    const r = expectStatus(await stack.api.publishMqttDemo({}, { token: alice.token }), 202);
    const topic = postNewForFollowerTopic.format({ follower_id: alice.user_id, post_id: messageExamples.PostNotification.new_post.post_id });
    expect(r).toEqual({ published_topics: [topic] });
    const got = JSON.parse((await inbox.next((m) => m.topic === topic)).payload);
    expect(PostNotificationValidator.check(got), PostNotificationValidator.explain(got)).toBe(true);
    expect(got).toMatchObject({ owner_id: alice.user_id, owner_handle: alice.handle });
  });
});

describe('a production instance without a dynamic-security admin', () => {
  it('refuses the demo (403) and explains why bootstrap cannot work (500)', async () => {
    const prod = await stack.addServer({ MAKAPIX_ENV: 'production', MQTT_DYNSEC_ADMIN_USERNAME: '', MQTT_DYNSEC_ADMIN_PASSWORD: '' });
    const api = createClient(prod.url);
    expectError(await api.publishMqttDemo({}, { token: alice.token }), 403, 'forbidden', 'The MQTT demo is disabled in production');
    expectError(await api.getMqttBootstrap({}, { token: alice.token }), 500, 'internal_error', /MQTT_DYNSEC_ADMIN_USERNAME/);
  });
});
