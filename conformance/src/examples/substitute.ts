// Turns an example payload into one for the real target: the placeholder player_key becomes the
// real key, request_id a fresh id, example post ids and handles the real ones playing their role
// (posts the target lacks skip the case), ids absent from the example world an id that does not exist.
import { randomBytes, randomUUID } from 'node:crypto';
import { PostIdBounds } from '@makapix/contract/components/identifiers';
import { SkipCase } from '../model/case.js';
import { clone, type Json, type JsonObject } from './catalog.js';
import { exampleWorld } from './world.js';

export interface DataMap {
  playerKey: string;
  /** Example post id -> the target's post id playing its role. */
  posts: Map<number, number>;
  /** Example handle -> the target's handle playing its role. */
  handles: Map<string, string>;
  /** A post id the target does not have (for the not_found examples). */
  missingPostId: number;
  /** Appended to handles the example world does not know (e.g. nobody_here), so that they stay unknown. */
  runToken: string;
}

export const MAX_POST_ID: number = PostIdBounds.maximum;

/** A request id as the firmware makes them: 32 hex characters. */
export function newRequestId(): string {
  return randomBytes(16).toString('hex');
}

export function newRunToken(): string {
  return randomBytes(3).toString('hex');
}

const POST_ID_FIELDS = new Set(['post_id', 'current_post_id']);
const HANDLE_FIELDS = new Set(['user_handle']);

export function mapPostId(id: number, map: DataMap): number {
  if (!exampleWorld().posts.has(id)) return map.missingPostId;
  const real = map.posts.get(id);
  if (real === undefined) throw new SkipCase(`the target has no post playing the role of example post ${id}`);
  return real;
}

export function mapHandle(handle: string, map: DataMap): string {
  const real = map.handles.get(handle);
  if (real !== undefined) return real;
  if (exampleWorld().handles.includes(handle)) throw new SkipCase(`the target has no user playing the role of example user ${handle}`);
  return `${handle}_${map.runToken}`.slice(0, 50);
}

/** Substitutes every known placeholder in a copy of `payload`. */
export function substitute(payload: JsonObject, map: DataMap, fresh: { requestId?: string } = {}): JsonObject {
  const placeholder = exampleWorld().placeholderPlayerKey;
  const walk = (v: Json, key: string | undefined): Json => {
    if (Array.isArray(v)) return v.map((x) => walk(x, undefined));
    if (v !== null && typeof v === 'object') {
      const out: JsonObject = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, k);
      return out;
    }
    if (key === 'player_key' && v === placeholder) return map.playerKey;
    if (key !== undefined && POST_ID_FIELDS.has(key) && typeof v === 'number') return mapPostId(v, map);
    if (key !== undefined && HANDLE_FIELDS.has(key) && typeof v === 'string') return mapHandle(v, map);
    return v;
  };
  const out = walk(clone(payload), undefined) as JsonObject;
  if (fresh.requestId !== undefined && 'request_id' in out) out.request_id = fresh.requestId;
  return out;
}

/** A command example made fresh for sending: new command_id, current timestamp. */
export function freshCommand(payload: JsonObject): JsonObject {
  const out = clone(payload);
  if ('command_id' in out) out.command_id = randomUUID();
  if ('timestamp' in out) out.timestamp = new Date().toISOString();
  return out;
}

/** Replaces the placeholder player_key (only) and the request_id. */
export function withPlayerKey(payload: JsonObject, playerKey: string, requestId?: string): JsonObject {
  const out = clone(payload);
  if (out.player_key === exampleWorld().placeholderPlayerKey) out.player_key = playerKey;
  if (requestId !== undefined && 'request_id' in out) out.request_id = requestId;
  return out;
}
