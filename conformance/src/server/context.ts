// What server-mode cases run against: the player session, the mapping from the example world to
// the target's data, and (with --api) the accounts and records created through REST.
import type { Client } from '@makapix/contract/openapi/client';
import type { Post } from '@makapix/contract/openapi/schemas';
import type { DataMap } from '../examples/substitute.js';
import type { ExchangeContext } from './exchange.js';

export interface RestAccount {
  user_id: string;
  sqid: string;
  handle: string;
  token: string;
}

export interface RestContext {
  api: Client;
  apiUrl: string;
  owner: RestAccount;
  /** Example handle -> the account playing that user (the owner's handle maps to `owner`). */
  accounts: Map<string, RestAccount>;
  /** The player's record id (REST paths), distinct from the player_key. */
  playerId: string;
  /** Posts created for the run, by real post id. */
  posts: Map<number, Post>;
  /** An account the owner follows (its new posts notify the owner). */
  followed?: RestAccount;
  /** A moderator account (feature `moderator`). */
  moderator?: RestAccount;
}

export interface ServerContext extends ExchangeContext {
  map: DataMap;
  rest?: RestContext;
  log?: (line: string) => void;
}

export class SetupError extends Error {
  override readonly name = 'SetupError';
}

/** Throws SetupError unless the REST answer has the status wanted. */
export function expectStatus<T extends { status: number; body: unknown }, S extends T['status']>(what: string, r: T, status: S): Extract<T, { status: S }>['body'] {
  if (r.status !== status) throw new SetupError(`${what}: expected HTTP ${status}, got ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  return r.body as Extract<T, { status: S }>['body'];
}
