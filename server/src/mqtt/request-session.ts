// What a request handler gets (the `S` of the generated RequestHandlers): who is asking, the
// server's derived keys, and `remember`, which stores the answer for (player_key, request_id) and
// returns the answer to send (the first stored answer wins when a duplicate raced this one).
// Handlers that write call it inside their transaction, so effects and answer commit together.
import type { PlayerResponseMessage } from '@makapix/contract/asyncapi/channels';
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
  /** The answer already stored for this request when it arrived (a redelivery), else null. */
  stored: unknown;
  /**
   * Stores the answer and returns what to send: this answer, or the one a racing duplicate stored
   * first (same request, so the same operation; the pipeline checks it against the reply schema).
   */
  remember<R extends PlayerResponseMessage>(q: Queryable, response: R): Promise<R>;
}

/** `{request_id, success: true, error: null}` + fields. */
export function success<F extends object>(requestId: string, fields: F): { request_id: string; success: true; error: null } & F {
  return { request_id: requestId, success: true, error: null, ...fields };
}
