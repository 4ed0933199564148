// An in-memory server of the MQTT side, built on the runtime and the generated code, serving the
// spec's example world (posts 123, 122, ... of artist123, pixel_queen, nightowl) to one registered
// player. The suite must pass against it; each broken fake in this folder changes one behaviour.
import { createHmac } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { isUnknownTag, MessageRouter } from '#runtime/v1';
import { messageCatalog, requestCatalog, requestTypes } from '@makapix/contract/asyncapi/catalog';
import { playerRequestTopic, playerResponseTopic, PlayerResponseMessageValidator } from '@makapix/contract/asyncapi/channels';
import { limits } from '@makapix/contract/asyncapi/limits';
import { publishPlayerResponse } from '@makapix/contract/asyncapi/operations';
import { GetCommentsRequestDefaults, QueryPostsRequestDefaults } from '@makapix/contract/asyncapi/schemas';
import { exampleWorld } from '../../src/examples/world.js';
import { isRequestType, requestExamples, type JsonObject } from '../../src/examples/catalog.js';
import { closeClient } from '../../src/run/close-client.js';

export type Answer = JsonObject;

export interface FakeBehaviour {
  /** The topic an answer goes to. */
  responseTopic(params: { player_key: string; request_id: string }): string;
  /** Last change to an answer before it is published (publishing raw when it changed). */
  mutate(answer: Answer, request: JsonObject | undefined): Answer;
  /** Request types left unanswered. */
  ignore: string[];
  /** The error code of schema failures (the spec: invalid_request). */
  schemaErrorCode: string;
  /** Different reactions per user and post (the spec: limits.maxReactionsPerUserPerPost). */
  reactionLimit: number;
  /** Drop the first item of every page after the first (a pagination gap). */
  gapAtPageBoundary: boolean;
  /** Accept any cursor, restarting at page one when it does not decode (the deployed defect). */
  lenientCursor: boolean;
}

export const correctBehaviour: FakeBehaviour = {
  responseTopic: (p) => playerResponseTopic.format(p),
  mutate: (a) => a,
  ignore: [],
  schemaErrorCode: 'invalid_request',
  reactionLimit: limits.maxReactionsPerUserPerPost,
  gapAtPageBoundary: false,
  lenientCursor: false,
};

export interface FakeServer {
  stop(): Promise<void>;
}

const SECRET = 'fake-server-cursor-secret';
const EMOJI = /^[\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}\u200d\ufe0f\u20e3#*0-9]+$/u;

function sign(body: object): string {
  const json = Buffer.from(JSON.stringify(body)).toString('base64url');
  return `${json}.${createHmac('sha256', SECRET).update(json).digest('base64url').slice(0, 16)}`;
}

function unsign(cursor: string): Record<string, unknown> | undefined {
  const [json, mac] = cursor.split('.');
  if (!json || !mac || createHmac('sha256', SECRET).update(json).digest('base64url').slice(0, 16) !== mac) return undefined;
  try {
    return JSON.parse(Buffer.from(json, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function shuffleKey(seed: number, id: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ id, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

class Refusal extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export async function startFakeServer(o: { brokerUrl: string; username: string; password: string; playerKey: string; behaviour?: Partial<FakeBehaviour> }): Promise<FakeServer> {
  const b: FakeBehaviour = { ...correctBehaviour, ...o.behaviour };
  const world = exampleWorld();
  const posts = [...world.posts.values()];
  const promoted = new Set(((requestExamples().find((r) => r.payload.channel === 'promoted')?.answer?.payload.posts ?? []) as JsonObject[]).map((p) => p.post_id));
  const reactions = new Map<number, Set<string>>();
  const answered = new Map<string, Answer>();
  const client: MqttClient = await mqtt.connectAsync(o.brokerUrl, { protocolVersion: 5, username: o.username, password: o.password, reconnectPeriod: 0 });
  const router = new MessageRouter(client, { onError: () => undefined });

  const page = <T>(items: T[], kind: string, scope: Record<string, unknown>, cursor: unknown, limit: number): { items: T[]; next_cursor: string | null; has_more: boolean } => {
    let offset = 0;
    if (typeof cursor === 'string') {
      const c = unsign(cursor);
      if (!c || c.t !== kind || JSON.stringify(c.s) !== JSON.stringify(scope)) {
        if (!b.lenientCursor) throw new Refusal('invalid_request', 'cursor: invalid or expired cursor');
      } else offset = Number(c.o);
      if (b.gapAtPageBoundary && offset > 0) offset += 1;
    }
    const slice = items.slice(offset, offset + limit);
    const more = offset + limit < items.length;
    return { items: slice, next_cursor: more ? sign({ t: kind, s: scope, o: offset + limit }) : null, has_more: more };
  };

  const handlers: Record<string, (r: JsonObject) => Answer> = {
    query_posts: (r) => {
      const channel = (r.channel as string | undefined) ?? QueryPostsRequestDefaults.channel;
      let list = posts;
      if (channel === 'by_user') {
        if (typeof r.user_handle !== 'string') throw new Refusal('invalid_request', 'user_handle: required when channel is by_user');
        if (!posts.some((p) => p.owner_handle === r.user_handle)) throw new Refusal('not_found', `user_handle: no user with handle ${r.user_handle}`);
        list = posts.filter((p) => p.owner_handle === r.user_handle);
      } else if (channel === 'user') list = posts.filter((p) => p.owner_handle === world.ownerHandle);
      else if (channel === 'promoted') list = posts.filter((p) => promoted.has(p.post_id));
      const sort = (r.sort as string | undefined) ?? QueryPostsRequestDefaults.sort;
      const seed = Number(r.random_seed ?? 0);
      list = [...list].sort((x, y) =>
        sort === 'random' ? shuffleKey(seed, Number(x.post_id)) - shuffleKey(seed, Number(y.post_id))
        : sort === 'created_at' ? String(y.created_at).localeCompare(String(x.created_at))
        : Number(y.post_id) - Number(x.post_id));
      const p = page(list, 'posts', { channel, sort, seed, h: r.user_handle ?? null }, r.cursor, Number(r.limit ?? QueryPostsRequestDefaults.limit));
      return { posts: p.items, next_cursor: p.next_cursor, has_more: p.has_more };
    },
    submit_view: (r) => {
      if (!world.posts.has(Number(r.post_id))) throw new Refusal('not_found', `post_id: post ${r.post_id} not found`);
      return {};
    },
    submit_reaction: (r) => {
      const emoji = emojiOf(r);
      if (!world.posts.has(Number(r.post_id))) throw new Refusal('not_found', `post_id: post ${r.post_id} not found`);
      const set = reactions.get(Number(r.post_id)) ?? new Set<string>();
      if (!set.has(emoji) && set.size >= b.reactionLimit) throw new Refusal('reaction_limit_exceeded', `At most ${b.reactionLimit} different reactions per user per post`);
      set.add(emoji);
      reactions.set(Number(r.post_id), set);
      return {};
    },
    revoke_reaction: (r) => {
      const emoji = emojiOf(r);
      reactions.get(Number(r.post_id))?.delete(emoji);
      return {};
    },
    get_comments: (r) => {
      if (!world.posts.has(Number(r.post_id))) throw new Refusal('not_found', `post_id: post ${r.post_id} not found`);
      const list = world.comments.filter((c) => c.post_id === r.post_id);
      const p = page(list, 'comments', { post: r.post_id }, r.cursor, Number(r.limit ?? GetCommentsRequestDefaults.limit));
      return { comments: p.items, next_cursor: p.next_cursor, has_more: p.has_more };
    },
  };

  const answer = (params: { player_key: string; request_id: string }, raw: unknown): Answer => {
    const fail = (code: string, error: string): Answer => ({ request_id: params.request_id, success: false, error, error_code: code });
    if (raw === undefined) return fail(b.schemaErrorCode, 'payload: not valid JSON');
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail(b.schemaErrorCode, 'payload: must be an object');
    const r = raw as JsonObject;
    if (r.player_key !== params.player_key || params.player_key !== o.playerKey) return fail('authentication_failed', 'player_key in the payload does not match the topic');
    if (r.request_id !== params.request_id) return fail(b.schemaErrorCode, 'request_id: does not match the topic');
    if (isUnknownTag('request_type', requestTypes, r)) return fail('unknown_request_type', `request_type: unknown request type ${String(r.request_type)}`);
    if (!isRequestType(r.request_type)) return fail(b.schemaErrorCode, 'request_type: is required');
    const v = messageCatalog[requestCatalog[r.request_type].request].validator;
    const clean = v.clean(r);
    if (!v.check(clean)) return fail(b.schemaErrorCode, v.explain(clean));
    try {
      return { request_id: params.request_id, success: true, error: null, ...handlers[String(r.request_type)](clean as JsonObject) };
    } catch (err) {
      if (err instanceof Refusal) return fail(err.code, err.message);
      return fail('internal_error', 'Internal server error');
    }
  };

  await router.subscribeRaw(playerRequestTopic.filter(), async (topic, bytes) => {
    const params = playerRequestTopic.parse(topic);
    if (!params) return;
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.toString('utf8'));
    } catch {
      raw = undefined;
    }
    const type = raw && typeof raw === 'object' ? (raw as JsonObject).request_type : undefined;
    if (typeof type === 'string' && b.ignore.includes(type)) return;
    const key = `${params.player_key}/${params.request_id}`;
    const a = answered.get(key) ?? answer(params, raw);
    answered.set(key, a);
    const out = b.mutate(structuredClone(a), raw as JsonObject | undefined);
    const outTopic = b.responseTopic(params);
    if (out === a || (JSON.stringify(out) === JSON.stringify(a) && outTopic === playerResponseTopic.format(params))) {
      if (!PlayerResponseMessageValidator.check(a)) throw new Error(`fake server: its answer is not a valid response: ${PlayerResponseMessageValidator.explain(a)}`);
      await publishPlayerResponse(client, params, a);
    } else {
      await client.publishAsync(outTopic, JSON.stringify(out), { qos: 1 });
    }
  }, { qos: 1 });

  return {
    stop: async () => {
      await router.close();
      await closeClient(client);
    },
  };
}

function emojiOf(r: JsonObject): string {
  const emoji = String(r.emoji).trim();
  if ([...emoji].length < 1 || [...emoji].length > 20 || !EMOJI.test(emoji) || /^[#*0-9]+$/.test(emoji)) throw new Refusal('invalid_emoji', 'emoji: must be 1..20 characters of emoji');
  return emoji;
}
