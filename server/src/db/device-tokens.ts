// SQL about players' device tokens (protocol 1.1): who a token belongs to, rotation (immediate, or
// after the owner's approval) and the approval itself. Tokens are stored as their SHA-256 only;
// getPlayerCredentials issues one too (takeCredentials in players.ts).
import type { Queryable, Sql } from './client.js';

/** What renewDeviceCert needs of the token's player. */
export interface DeviceTokenPlayer {
  id: string;
  player_key: string;
  cert_serial: string;
  cert_expires_at: Date;
  /** SPKI PEM of the key the device keeps (CSR at provisioning), or null. */
  device_public_key: string | null;
}

/** The registered player whose current device token has this SHA-256, or null. */
export async function findPlayerByTokenHash(sql: Queryable, tokenHash: Buffer): Promise<DeviceTokenPlayer | null> {
  const rows = await sql<DeviceTokenPlayer[]>`
    select id, player_key, cert_serial, cert_expires_at, device_public_key from players
    where api_token_hash = ${tokenHash} and registration_status = 'registered' and cert_serial is not null`;
  return rows[0] ?? null;
}

export type RotationOutcome = { kind: 'rotated' } | { kind: 'pending'; requestedAt: Date } | { kind: 'not_found' };

/**
 * Replaces the device token of the registered player `playerKey` by `tokenHash`. With
 * `needsApproval`, only once the owner has approved a pending request; otherwise the request is
 * recorded (the first request time is kept) and the old token stays.
 */
export async function rotateDeviceToken(sql: Sql, playerKey: string, tokenHash: Buffer, needsApproval: boolean): Promise<RotationOutcome> {
  return sql.begin(async (tx) => {
    const [row] = await tx<{ id: string; approved: boolean }[]>`
      select id, api_token_rotation_approved_at is not null as approved from players
      where player_key = ${playerKey} and registration_status = 'registered'
      for update`;
    if (!row) return { kind: 'not_found' } as const;
    if (needsApproval && !row.approved) {
      const [p] = await tx<{ requested_at: Date }[]>`
        update players set api_token_rotation_requested_at = coalesce(api_token_rotation_requested_at, now())
        where id = ${row.id}
        returning api_token_rotation_requested_at as requested_at`;
      return { kind: 'pending', requestedAt: p!.requested_at } as const;
    }
    await tx`
      update players set
        api_token_hash = ${tokenHash},
        api_token_created_at = now(),
        api_token_rotated_at = now(),
        api_token_rotation_requested_at = null,
        api_token_rotation_approved_at = null
      where id = ${row.id}`;
    return { kind: 'rotated' } as const;
  });
}

/** Approves the pending rotation of one of the owner's players; false when none is pending. */
export async function approveTokenRotation(sql: Queryable, ownerId: number, playerId: string): Promise<boolean> {
  const res = await sql`
    update players set api_token_rotation_approved_at = now()
    where id = ${playerId} and owner_id = ${ownerId} and registration_status = 'registered'
      and api_token_rotation_requested_at is not null`;
  return res.count > 0;
}
