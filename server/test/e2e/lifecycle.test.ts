// The player lifecycle of the protocol document, end to end, as users and devices see it: an artist
// and a follower sign up; a device provisions itself, its owner registers it, it fetches its
// certificate and connects over mTLS; it makes every request type, reports its status, receives a
// command; the follower, connected over WebSocket with its bootstrap credentials, receives the
// artist's new-post notification. Real Mosquitto, PostgreSQL and certificates; no mocks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { MessageRouter, Requester } from '#runtime/v1';
import { PlayerCommandMessageValidator, PostNotificationValidator, playerCommandTopic, playerStatusTopic, postNewForFollowerTopic } from '@makapix/contract/asyncapi/channels';
import {
  publishPlayerStatus, requestGetComments, requestQueryPosts, requestRevokeReaction, requestSubmitReaction, requestSubmitView,
} from '@makapix/contract/asyncapi/operations';
import { expectStatus } from '../support/assertions.js';
import { publishReason } from '../support/mqtt-results.js';
import { connectPlayer, provisionPlayer, registerUser, startStack, uniqueHandle, type Stack, type TestPlayer, type TestUser } from '../support/stack.js';

let stack: Stack;
let artist: TestUser;
let follower: TestUser;
let player: TestPlayer;
let device: MqttClient;
let web: MqttClient;
let requester: Requester;
let postId: number;

beforeAll(async () => {
  stack = await startStack();
  artist = await registerUser(stack.api, uniqueHandle('artist'));
  follower = await registerUser(stack.api, uniqueHandle('fan'));
});

afterAll(async () => {
  // the device was disconnected by the broker: end it without waiting for a clean goodbye
  for (const c of [device, web]) c?.end(true);
  await stack?.stop();
});

/** Resolves with the first message on `filter` that `accept` likes (bounded). */
function nextMessage(client: MqttClient, accept: (topic: string, payload: unknown) => boolean, timeoutMs = 10_000): Promise<{ topic: string; payload: unknown }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { client.off('message', on); reject(new Error('no matching message in time')); }, timeoutMs);
    const on = (topic: string, buf: Buffer) => {
      const payload = JSON.parse(buf.toString()) as unknown;
      if (!accept(topic, payload)) return;
      clearTimeout(timer);
      client.off('message', on);
      resolve({ topic, payload });
    };
    client.on('message', on);
  });
}

describe('the player lifecycle', () => {
  // One scenario in steps (each step needs what the ones before it did), so one test: no test
  // depends on another's data.
  it('provision, register, connect, request, status, command, follower notification, deletion', async () => {
    { // provision -> register -> credentials -> mTLS connect with the issued certificate
      player = await provisionPlayer(stack.api, artist, 'Living Room Player');
      expect(player.cert_pem).toMatch(/^-----BEGIN CERTIFICATE-----/);
      device = await connectPlayer(stack, player, { protocolVersion: 4, clientId: `p3a-${player.player_key}` }); // the firmware speaks 3.1.1
      requester = new Requester(device, new MessageRouter(device), player.player_key, { timeoutMs: 10_000 });
      await requester.start();
    }

    { // the follower follows the artist and connects over WebSocket with its bootstrap credentials
      expect((await stack.api.followUser({ params: { sqid: artist.sqid } }, { token: follower.token })).status).toBe(204);
      const b = expectStatus(await stack.api.getMqttBootstrap({}, { token: follower.token }), 200);
      web = await mqtt.connectAsync(stack.services.urls.mqttWebsocket, { protocolVersion: 5, username: b.username, password: b.password, reconnectPeriod: 0 });
      for (const filter of b.topics.subscribe) await web.subscribeAsync(filter, { qos: 1 });
    }

    { // a new post reaches the follower over WebSocket, valid and on its own topic
      const arrived = nextMessage(web, (topic) => postNewForFollowerTopic.parse(topic)?.follower_id === follower.user_id);
      const created = expectStatus(await stack.api.createPost({
        body: { title: 'Cool Pixel Art', art_url: 'https://cdn.example.test/art/1.png', canvas: '64x64', width: 64, height: 64 },
      }, { token: artist.token }), 201);
      postId = created.post_id;
      const { topic, payload } = await arrived;
      expect(postNewForFollowerTopic.parse(topic)).toEqual({ follower_id: follower.user_id, post_id: postId });
      expect(PostNotificationValidator.explain(payload)).toBe('');
      expect(payload).toMatchObject({ post_id: postId, owner_id: artist.user_id, owner_handle: artist.handle, promoted_category: null });
    }

    { // the web user can publish nothing and cannot read another user's notifications
      const own = postNewForFollowerTopic.format({ follower_id: follower.user_id, post_id: postId });
      expect(await publishReason(web, own, '{}')).toBe(135);
      expect(await publishReason(web, playerCommandTopic.format({ player_key: player.player_key }), '{}')).toBe(135);
      await expect(web.subscribeAsync(postNewForFollowerTopic.filterRest({ follower_id: artist.user_id }), { qos: 1 })).rejects.toMatchObject({ packet: { granted: [135] } });
    }

    { // every request type answers over mTLS
      const id = () => Math.random().toString(16).slice(2).padEnd(12, '0');
      const base = { player_key: player.player_key };
      const page = await requestQueryPosts(requester, { ...base, request_id: id(), request_type: 'query_posts', channel: 'user', limit: 10 });
      expect(page).toMatchObject({ success: true, has_more: false, next_cursor: null });
      expect(page.success && page.posts.map((p) => p.post_id)).toEqual([postId]);
      // own post: success, no view recorded
      expect(await requestSubmitView(requester, { ...base, request_id: id(), request_type: 'submit_view', post_id: postId })).toMatchObject({ success: true, error: null });
      expect(await requestSubmitReaction(requester, { ...base, request_id: id(), request_type: 'submit_reaction', post_id: postId, emoji: '👍' })).toMatchObject({ success: true });
      expect(await requestRevokeReaction(requester, { ...base, request_id: id(), request_type: 'revoke_reaction', post_id: postId, emoji: '👍' })).toMatchObject({ success: true });
      expect(await requestGetComments(requester, { ...base, request_id: id(), request_type: 'get_comments', post_id: postId })).toMatchObject({ success: true, comments: [], has_more: false });
      const missing = await requestSubmitView(requester, { ...base, request_id: id(), request_type: 'submit_view', post_id: 999999 });
      expect(missing).toMatchObject({ success: false, error_code: 'not_found' });
    }

    { // status is recorded, and a command from the owner reaches the player
      await publishPlayerStatus(device, { player_key: player.player_key }, { player_key: player.player_key, status: 'online', current_post_id: postId, firmware_version: '1.0.0' });
      let record;
      for (const deadline = Date.now() + 10_000; ;) { // polled until recorded, with a deadline
        record = expectStatus(await stack.api.getPlayer({ params: { sqid: artist.sqid, player_id: player.id } }, { token: artist.token }), 200);
        if (record.connection_status === 'online' || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(record).toMatchObject({ connection_status: 'online', current_post_id: postId, firmware_version: '1.0.0' });

      await device.subscribeAsync(playerCommandTopic.format({ player_key: player.player_key }), { qos: 1 });
      const command = nextMessage(device, (topic) => topic === playerCommandTopic.format({ player_key: player.player_key }));
      const sent = expectStatus(await stack.api.sendPlayerCommand({
        params: { sqid: artist.sqid, player_id: player.id }, body: { command_type: 'show_artwork', post_id: postId },
      }, { token: artist.token }), 200);
      const { payload } = await command;
      expect(PlayerCommandMessageValidator.explain(payload)).toBe('');
      expect(payload).toMatchObject({ command_id: sent.command_id, command_type: 'show_artwork', payload: { post_id: postId } });
      expect(playerStatusTopic.format({ player_key: player.player_key })).toContain(player.player_key);
    }

    { // deleting the player ends its session and its certificate no longer connects
      const closed = new Promise<void>((resolve) => device.once('close', () => resolve()));
      expect((await stack.api.deletePlayer({ params: { sqid: artist.sqid, player_id: player.id } }, { token: artist.token })).status).toBe(204);
      await closed;
      await expect(connectPlayer(stack, player)).rejects.toThrow();
    }
  }, 60_000);
});
