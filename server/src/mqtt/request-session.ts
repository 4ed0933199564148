// What a request handler gets: who is asking, the server's derived keys, and `remember`, which
// stores the answer for (player_key, request_id) and returns the answer to send (the first stored
// answer wins when a duplicate raced this one). Handlers that write call it inside their
// transaction, so effects and answer commit together.
import type { Checked } from '../../../codegen/runtime/index.js';
import type { PlayerRequestMessage, PlayerResponseMessage } from '../../../generated/asyncapi/channels.js';
import type { AppContext } from '../context.js';
import type { Queryable } from '../db/index.js';
import type { ServerKeys } from './server-keys.js';

export interface RequestSession {
  playerKey: string;
  requestId: string;
  /** users.id of the player's owner. */
  ownerId: number;
  /** The owner's user_id (UUID). */
  ownerUserId: string;
  isModerator: boolean;
}

export interface HandlerEnv {
  ctx: AppContext;
  keys: ServerKeys;
  session: RequestSession;
  /** Checks the answer against the response schema (once: it is published as checked), stores it and returns what to send. */
  remember(q: Queryable, response: PlayerResponseMessage): Promise<Checked<PlayerResponseMessage>>;
}

export type RequestType = PlayerRequestMessage['request_type'];
export type RequestOf<T extends RequestType> = Extract<PlayerRequestMessage, { request_type: T }>;

/** Handles one validated, authenticated, rate-limited request; returns the answer to send (already remembered). */
export type RequestHandler<T extends RequestType> = (env: HandlerEnv, request: RequestOf<T>) => Promise<Checked<PlayerResponseMessage>>;

/** `{request_id, success: true, error: null}` + fields. */
export function success<F extends object>(requestId: string, fields: F): { request_id: string; success: true; error: null } & F {
  return { request_id: requestId, success: true, error: null, ...fields };
}
