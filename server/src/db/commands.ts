// SQL about commands sent to players: the post a show_artwork command points at, and the log of
// every command (who sent what to which player, when).
import type { CommandAckStatus, CommandType } from '@makapix/contract/components/identifiers';
import type { Queryable } from './client.js';

export interface ShowablePost {
  post_id: number;
  storage_key: string;
  art_url: string;
  canvas: string;
  /** Format of the vault file, or null for a post whose art_url points outside the vault. */
  native_format: string | null;
}

/**
 * The post a player of `ownerId` may be told to show: not deleted, and listable (visible, not
 * hidden by a moderator, conformant) unless it is the owner's own post or the owner is a moderator.
 */
export async function findShowablePost(
  sql: Queryable,
  postId: number,
  viewer: { ownerId: number; ownerIsModerator: boolean },
): Promise<ShowablePost | null> {
  const rows = await sql<ShowablePost[]>`
    select post_id, storage_key, art_url, canvas, native_format from posts
    where post_id = ${postId} and not deleted
      and ((visible and not hidden_by_mod and not non_conformant)
           or owner_id = ${viewer.ownerId} or ${viewer.ownerIsModerator})`;
  return rows[0] ?? null;
}

export interface CommandLogEntry {
  commandId: string;
  playerId: string;
  playerKey: string;
  /** users.id of the caller (the owner or a moderator). */
  issuedBy: number;
  commandType: string;
  payload: Record<string, unknown>;
}

/**
 * Logs commands (one statement for any number of them) and returns the ids of those logged: a
 * command to a player deleted since it was looked up is left out (a concurrent deletePlayer), so
 * that it is neither logged nor sent. The look-up locks the player row (FOR KEY SHARE, as the foreign
 * key's own check does): a delete still in progress is waited for and its player then left out,
 * where a plain EXISTS would read the row from its snapshot and the foreign key would then fail.
 */
export async function logCommands(sql: Queryable, entries: readonly CommandLogEntry[]): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  const rows = await sql<{ command_id: string }[]>`
    insert into player_commands (command_id, player_id, player_key, issued_by, command_type, payload)
    select c.command_id, c.player_id, c.player_key, c.issued_by, c.command_type, c.payload::jsonb
    from unnest(
      ${entries.map((e) => e.commandId)}::uuid[],
      ${entries.map((e) => e.playerId)}::uuid[],
      ${entries.map((e) => e.playerKey)}::uuid[],
      ${entries.map((e) => e.issuedBy)}::bigint[],
      ${entries.map((e) => e.commandType)}::text[],
      ${entries.map((e) => JSON.stringify(e.payload))}::text[]
    ) as c(command_id, player_id, player_key, issued_by, command_type, payload)
    where exists (select 1 from players p where p.id = c.player_id for key share)
    returning command_id`;
  return new Set(rows.map((r) => r.command_id));
}

export interface CommandRecordRow {
  command_id: string;
  command_type: CommandType;
  created_at: Date;
  ack_status: CommandAckStatus | null;
  ack_error: string | null;
  acked_at: Date | null;
}

/** A command sent to this player (by record id), with its acknowledgement; null for another player's or an unknown one. */
export async function findPlayerCommand(sql: Queryable, playerId: string, commandId: string): Promise<CommandRecordRow | null> {
  const rows = await sql<CommandRecordRow[]>`
    select command_id, command_type, created_at, ack_status, ack_error, acked_at
    from player_commands where command_id = ${commandId} and player_id = ${playerId}`;
  return rows[0] ?? null;
}
