// What a player reports about itself on its retained topics (capabilities, state) and its
// acknowledgements of commands (command/ack), since protocol 1.1. Only registered players are
// written; a player's own key is the only way in (the broker ACL lets a player publish only on its
// own topics). `findPlayerDevice` is what the owner-facing side reads.
import type { CommandAckStatus, Rotation } from '@makapix/contract/components/identifiers';
import type { Queryable } from './client.js';

/** The capabilities as stored: only the fields and features protocol 1.1 defines. */
export interface StoredCapabilities {
  firmware_version?: string;
  features: {
    pause?: Record<string, never>;
    brightness?: { min: number; max: number; step?: number };
    rotation?: { values: Rotation[] };
  };
}

/** The state as stored: the latest value of each field the player reported. */
export interface StoredState {
  is_paused?: boolean;
  brightness?: number;
  rotation?: Rotation;
}

export interface PlayerDevice {
  capabilities: StoredCapabilities | null;
  capabilitiesAt: Date | null;
  state: StoredState | null;
  stateAt: Date | null;
}

/** Replaces a registered player's capabilities; false when no registered player has this key. */
export async function storeCapabilities(sql: Queryable, playerKey: string, capabilities: StoredCapabilities, at: Date): Promise<boolean> {
  const res = await sql`
    update players set capabilities = ${sql.json(capabilities as never)}, capabilities_at = ${at}
    where player_key = ${playerKey} and registration_status = 'registered'`;
  return res.count > 0;
}

/** Merges the reported fields into a registered player's state; false when no registered player has this key. */
export async function storeState(sql: Queryable, playerKey: string, state: StoredState, at: Date): Promise<boolean> {
  const res = await sql`
    update players set state = coalesce(state, '{}'::jsonb) || ${sql.json(state as never)}, state_at = ${at}
    where player_key = ${playerKey} and registration_status = 'registered'`;
  return res.count > 0;
}

export interface CommandAckRecord {
  commandId: string;
  status: CommandAckStatus;
  error: string | null;
}

/** Records an acknowledgement on the command it names, if that command was sent to this player; false otherwise. */
export async function recordCommandAck(sql: Queryable, playerKey: string, ack: CommandAckRecord, at: Date): Promise<boolean> {
  const res = await sql`
    update player_commands set ack_status = ${ack.status}, ack_error = ${ack.error}, acked_at = ${at}
    where command_id = ${ack.commandId} and player_key = ${playerKey}`;
  return res.count > 0;
}

/** The capabilities and state of a player (by its record id), or null when there is no such player. */
export async function findPlayerDevice(sql: Queryable, playerId: string): Promise<PlayerDevice | null> {
  const rows = await sql<{ capabilities: StoredCapabilities | null; capabilities_at: Date | null; state: StoredState | null; state_at: Date | null }[]>`
    select capabilities, capabilities_at, state, state_at from players where id = ${playerId}`;
  const r = rows[0];
  return r ? { capabilities: r.capabilities, capabilitiesAt: r.capabilities_at, state: r.state, stateAt: r.state_at } : null;
}

/** The capabilities of several players (by record id); players without any are absent from the map. */
export async function findCapabilities(sql: Queryable, playerIds: readonly string[]): Promise<Map<string, StoredCapabilities>> {
  if (playerIds.length === 0) return new Map();
  const rows = await sql<{ id: string; capabilities: StoredCapabilities }[]>`
    select id, capabilities from players where id = any(${playerIds as string[]}::uuid[]) and capabilities is not null`;
  return new Map(rows.map((r) => [r.id, r.capabilities]));
}

export interface CommandAckRow {
  ack_status: CommandAckStatus | null;
  ack_error: string | null;
  acked_at: Date | null;
}

/** The acknowledgement recorded on a command, or null when there is no such command. */
export async function findCommandAck(sql: Queryable, commandId: string): Promise<CommandAckRow | null> {
  const rows = await sql<CommandAckRow[]>`select ack_status, ack_error, acked_at from player_commands where command_id = ${commandId}`;
  return rows[0] ?? null;
}

export interface RegisteredPlayer {
  /** users.id of the owner. */
  ownerId: number;
  /** The owner's user_id (UUID). */
  ownerUserId: string;
  isModerator: boolean;
}

/** The owner of a registered player (by key), or null for an unknown or unregistered key. */
export async function findRegisteredPlayer(sql: Queryable, playerKey: string): Promise<RegisteredPlayer | null> {
  const rows = await sql<{ owner_id: number; owner_user_id: string; is_moderator: boolean }[]>`
    select u.id as owner_id, u.user_id as owner_user_id, 'moderator' = any(u.roles) as is_moderator
    from players pl join users u on u.id = pl.owner_id
    where pl.player_key = ${playerKey} and pl.registration_status = 'registered'`;
  const r = rows[0];
  return r ? { ownerId: r.owner_id, ownerUserId: r.owner_user_id, isModerator: r.is_moderator === true } : null;
}
