// Small test-only channels (the runtime is spec-agnostic) and MQTT client helpers.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Type, type Static } from 'typebox';
import type { ChannelDef } from '../../runtime/channel.js';
import { topicTemplate } from '../../runtime/topic.js';
import { compileValidator } from '../../runtime/validator.js';

export const KEY = '8f0c1c9e-1b1e-4c1a-9f0e-3c1e2b1a0d9f';
export const OTHER_KEY = '0b7d4d0e-5a4c-4f0e-8a55-2f6a3c1d9e01';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type RequestParams = { player_key: string; request_id: string };
const requestParamKinds = {
  player_key: { kind: 'string' as const, check: (v: unknown) => typeof v === 'string' && UUID.test(v) },
  request_id: { kind: 'string' as const },
};
export const requestTopic = topicTemplate<RequestParams>('test/player/{player_key}/request/{request_id}', requestParamKinds);
export const responseTopic = topicTemplate<RequestParams>('test/player/{player_key}/response/{request_id}', requestParamKinds);

export const Ping = Type.Object({ request_id: Type.String({ minLength: 1 }), n: Type.Integer({ minimum: 0, maximum: 10 }) });
export type Ping = Static<typeof Ping>;
export const Pong = Type.Object({ request_id: Type.String(), success: Type.Boolean(), doubled: Type.Integer() });
export type Pong = Static<typeof Pong>;

export const pingRequest: ChannelDef<RequestParams, Ping> = {
  id: 'pingRequest',
  topic: requestTopic,
  qos: 1,
  retain: false,
  message: compileValidator<Ping>(Ping),
};
export const pingResponse: ChannelDef<RequestParams, Pong> = {
  id: 'pingResponse',
  topic: responseTopic,
  qos: 1,
  retain: false,
  message: compileValidator<Pong>(Pong),
};

export type NoteParams = { post_id: number };
export const Note = Type.Object({ post_id: Type.Integer(), title: Type.String() });
export type Note = Static<typeof Note>;
export const note: ChannelDef<NoteParams, Note> = {
  id: 'note',
  topic: topicTemplate<NoteParams>('test/note/{post_id}', { post_id: { kind: 'integer', check: (v) => typeof v === 'number' && v >= 1 } }),
  qos: 1,
  retain: false,
  message: compileValidator<Note>(Note),
};

export function connect(url: string, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
}

/** Resolves when `predicate` holds, polling; rejects after `ms`. */
export async function until(predicate: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A promise with its resolve function, to hold a handler until the test lets it go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}
