// SQL about players: provisioning (pending players and their registration codes), registration
// (owner + device certificate), the owner's view of its players, renaming, deleting, renewal.
// Only registered players are visible to owners; pending players have no owner.
import type { StoredCapabilities, StoredState } from './player-device.js';
import type { ConnectionStatus, RegistrationStatus } from '@makapix/contract/components/identifiers';
import type { Queryable } from './client.js';

/** A registered player joined with its owner's public user_id: what the REST Player is built from. */
export interface PlayerRow {
  id: string;
  player_key: string;
  owner_user_id: string;
  name: string;
  device_model: string | null;
  firmware_version: string | null;
  registration_status: Extract<RegistrationStatus, 'registered'>;
  connection_status: ConnectionStatus;
  last_seen_at: Date | null;
  current_post_id: number | null;
  cert_serial: string;
  cert_expires_at: Date;
  registered_at: Date;
  created_at: Date;
  /** SPKI PEM of the key the device keeps (it sent a CSR at provisioning), or null when the server generated the key. */
  device_public_key: string | null;
  /** When rotatePlayerToken last replaced the device token, or null. */
  api_token_rotated_at: Date | null;
  /** A rotation waiting for the owner's approval (DEVICE_TOKEN_ROTATION=owner_confirmation), or null. */
  api_token_rotation_requested_at: Date | null;
  /** What the player reported on its retained capabilities and state topics (protocol 1.1), or null. */
  capabilities: StoredCapabilities | null;
  capabilities_at: Date | null;
  state: StoredState | null;
  state_at: Date | null;
}

/** The owner of /u/{sqid}/... routes (the number behind the sqid). */
export interface OwnerRow {
  id: number;
  user_id: string;
  handle: string;
  roles: string[];
}

export async function findOwnerById(sql: Queryable, id: number): Promise<OwnerRow | null> {
  if (!Number.isSafeInteger(id) || id < 1) return null;
  const rows = await sql<OwnerRow[]>`select id, user_id, handle, roles from users where id = ${id}`;
  return rows[0] ?? null;
}

// ---------------------------------------------------------------------------------------------
// provisioning
// ---------------------------------------------------------------------------------------------

export interface NewPendingPlayer {
  code: string;
  ttlSeconds: number;
  deviceModel: string | null;
  firmwareVersion: string | null;
  /** SPKI PEM of the verified CSR's key, or null (the server will generate the key at registration). */
  devicePublicKey: string | null;
}

export interface PendingPlayer {
  player_key: string;
  registration_code: string;
  registration_code_expires_at: Date;
}

/**
 * Inserts a pending player holding `code`. A code still held by another pending player raises a
 * unique violation of Constraints.playersRegistrationCodeUnique (see releaseExpiredCode).
 */
export async function insertPendingPlayer(sql: Queryable, p: NewPendingPlayer): Promise<PendingPlayer> {
  const [row] = await sql<PendingPlayer[]>`
    insert into players (registration_code, registration_code_expires_at, device_model, firmware_version, device_public_key)
    values (${p.code}, now() + make_interval(secs => ${p.ttlSeconds}), ${p.deviceModel}, ${p.firmwareVersion}, ${p.devicePublicKey})
    returning player_key, registration_code, registration_code_expires_at`;
  return row!;
}

/** Deletes the pending player holding `code` if its code has expired (it can never be registered). Returns whether one went. */
export async function releaseExpiredCode(sql: Queryable, code: string): Promise<boolean> {
  const res = await sql`
    delete from players
    where registration_code = ${code} and registration_status = 'pending' and registration_code_expires_at < now()`;
  return res.count > 0;
}

/** Deletes up to `limit` pending players whose code expired more than `graceSeconds` ago. */
export async function deleteStalePendingPlayers(sql: Queryable, graceSeconds: number, limit = 100): Promise<number> {
  const res = await sql`
    delete from players where id in (
      select id from players
      where registration_status = 'pending'
        and registration_code_expires_at < now() - make_interval(secs => ${graceSeconds})
      limit ${limit})`;
  return res.count;
}

// ---------------------------------------------------------------------------------------------
// registration
// ---------------------------------------------------------------------------------------------

/** Serialises registrations of one user (the per-user player limit is checked under this lock). */
export async function lockUserForRegistration(tx: Queryable, ownerId: number): Promise<void> {
  await tx`select id from users where id = ${ownerId} for update`;
}

/** A pending player found by its registration code (findPendingWithOwnerCount). */
export interface PendingForRegistration {
  id: string;
  player_key: string;
  /** SPKI PEM of the device's own key (CSR sent at provisioning), or null. */
  device_public_key: string | null;
}

/**
 * In one statement: the pending player whose unexpired code is `code` (normalised), locked for the
 * registration, and the number of players `ownerId` has. Run it after lockUserForRegistration in
 * the same transaction (its snapshot then sees every registration of the owner that committed
 * before the lock was granted). Null when no pending player has the code.
 */
export async function findPendingWithOwnerCount(
  tx: Queryable,
  code: string,
  ownerId: number,
): Promise<{ pending: PendingForRegistration; ownerPlayers: number } | null> {
  const rows = await tx<(PendingForRegistration & { owner_players: number })[]>`
    select p.id, p.player_key, p.device_public_key,
      (select count(*)::int from players o where o.owner_id = ${ownerId}) as owner_players
    from players p
    where p.registration_code = ${code} and p.registration_status = 'pending' and p.registration_code_expires_at > now()
    for update of p`;
  const row = rows[0];
  if (!row) return null;
  const { owner_players: ownerPlayers, ...pending } = row;
  return { pending, ownerPlayers };
}

export async function countPlayersOfOwner(sql: Queryable, ownerId: number): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*)::int as n from players where owner_id = ${ownerId}`;
  return row!.n;
}

export interface Certificate {
  certPem: string;
  /** The server-generated private key, or null when the device keeps its own (players.device_public_key). */
  keyPem: string | null;
  serialHex: string;
  notAfter: Date;
}

export async function completeRegistration(
  tx: Queryable,
  r: { playerId: string; ownerId: number; name: string; cert: Certificate },
): Promise<PlayerRow> {
  const rows = await tx<PlayerRow[]>`
    with updated as (
      update players set
        owner_id = ${r.ownerId},
        name = ${r.name},
        registration_status = 'registered',
        registration_code = null,
        registration_code_expires_at = null,
        registered_at = now(),
        cert_pem = ${r.cert.certPem},
        key_pem = ${r.cert.keyPem},
        cert_serial = ${r.cert.serialHex},
        cert_expires_at = ${r.cert.notAfter}
      where id = ${r.playerId} and registration_status = 'pending'
      returning *
    )
    select ${playerColumns(tx)} from updated p join users u on u.id = p.owner_id`;
  return rows[0]!;
}

// ---------------------------------------------------------------------------------------------
// credentials (the device's poll)
// ---------------------------------------------------------------------------------------------

/** What a credentials fetch finds: the credentials, or that the key was fetched and its grace period is over. */
export type TakenCredentials =
  | { kind: 'credentials'; cert_pem: string; key_pem: string | null }
  | { kind: 'gone'; key_fetched_at: Date };

/**
 * The current certificate and, when the server generated it, the private key (null for a device
 * that keeps its key), of a registered player; stores `tokenHash` as its new device token in the
 * same statement (the previous token stops working) and marks the key fetched (its first fetch).
 * A key first fetched before `keyCutoff` (now minus the grace period) is not served again: it is
 * erased and the answer is 'gone' (no token issued). Null when no registered player has the key.
 */
export async function takeCredentials(
  sql: Queryable,
  playerKey: string,
  tokenHash: Buffer,
  at: { now: Date; keyCutoff: Date },
): Promise<TakenCredentials | null> {
  const rows = await sql<{ cert_pem: string; key_pem: string | null }[]>`
    update players set api_token_hash = ${tokenHash}, api_token_created_at = now(),
      key_fetched_at = coalesce(key_fetched_at, ${at.now})
    where player_key = ${playerKey} and registration_status = 'registered' and cert_pem is not null
      and (device_public_key is not null
        or (key_pem is not null and (key_fetched_at is null or key_fetched_at > ${at.keyCutoff})))
    returning cert_pem, key_pem`;
  if (rows[0]) return { kind: 'credentials', ...rows[0] };
  // a server-generated key past its grace period: forget it (if not yet), answer gone
  const gone = await sql<{ key_fetched_at: Date }[]>`
    update players set key_pem = null
    where player_key = ${playerKey} and registration_status = 'registered' and cert_pem is not null
      and device_public_key is null and key_fetched_at is not null and key_fetched_at <= ${at.keyCutoff}
    returning key_fetched_at`;
  return gone[0] ? { kind: 'gone', key_fetched_at: gone[0].key_fetched_at } : null;
}

// ---------------------------------------------------------------------------------------------
// the owner's players
// ---------------------------------------------------------------------------------------------

function playerColumns(sql: Queryable) {
  return sql`
    p.id, p.player_key, u.user_id as owner_user_id, p.name, p.device_model, p.firmware_version,
    p.registration_status, p.connection_status, p.last_seen_at, p.current_post_id,
    p.cert_serial, p.cert_expires_at, p.registered_at, p.created_at, p.device_public_key,
    p.api_token_rotated_at, p.api_token_rotation_requested_at, p.capabilities, p.capabilities_at, p.state, p.state_at`;
}

/** The owner's registered players, oldest registration first. */
export async function listPlayersOfOwner(sql: Queryable, ownerId: number): Promise<PlayerRow[]> {
  return sql<PlayerRow[]>`
    select ${playerColumns(sql)} from players p join users u on u.id = p.owner_id
    where p.owner_id = ${ownerId} and p.registration_status = 'registered'
    order by p.registered_at, p.id`;
}

export async function findPlayerOfOwner(sql: Queryable, ownerId: number, playerId: string): Promise<PlayerRow | null> {
  const rows = await sql<PlayerRow[]>`
    select ${playerColumns(sql)} from players p join users u on u.id = p.owner_id
    where p.id = ${playerId} and p.owner_id = ${ownerId} and p.registration_status = 'registered'`;
  return rows[0] ?? null;
}

export async function renamePlayer(sql: Queryable, ownerId: number, playerId: string, name: string): Promise<PlayerRow | null> {
  const rows = await sql<PlayerRow[]>`
    with updated as (
      update players set name = ${name}
      where id = ${playerId} and owner_id = ${ownerId} and registration_status = 'registered'
      returning *
    )
    select ${playerColumns(sql)} from updated p join users u on u.id = p.owner_id`;
  return rows[0] ?? null;
}

export interface DeletedPlayer {
  player_key: string;
  cert_serial: string | null;
  cert_expires_at: Date | null;
  previous_cert_serial: string | null;
  previous_cert_expires_at: Date | null;
}

/** Deletes one of the owner's registered players; returns what must be revoked, or null when there is no such player. */
export async function deletePlayerOfOwner(tx: Queryable, ownerId: number, playerId: string): Promise<DeletedPlayer | null> {
  const rows = await tx<DeletedPlayer[]>`
    delete from players
    where id = ${playerId} and owner_id = ${ownerId} and registration_status = 'registered'
    returning player_key, cert_serial, cert_expires_at, previous_cert_serial, previous_cert_expires_at`;
  return rows[0] ?? null;
}

/**
 * Installs a renewed certificate; the replaced one becomes the previous certificate (still valid
 * until it expires, revoked together with the current one on delete). `keyFetchedAt`: when the
 * device got the new key (renewDeviceCert answers it), or null while it is still to be fetched
 * from getPlayerCredentials (an owner renewal). Only when the current
 * serial is still `expectedSerial` (a concurrent renewal wins once; the caller checked who may
 * renew: the owner, or the player's own device token); returns the new expiry or null.
 */
export async function replaceCertificate(
  sql: Queryable,
  r: { playerId: string; expectedSerial: string; cert: Certificate; keyFetchedAt: Date | null },
): Promise<Date | null> {
  const rows = await sql<{ cert_expires_at: Date }[]>`
    update players set
      previous_cert_serial = cert_serial,
      previous_cert_expires_at = cert_expires_at,
      cert_pem = ${r.cert.certPem},
      key_pem = ${r.cert.keyPem},
      key_fetched_at = ${r.keyFetchedAt},
      cert_serial = ${r.cert.serialHex},
      cert_expires_at = ${r.cert.notAfter}
    where id = ${r.playerId} and registration_status = 'registered'
      and cert_serial = ${r.expectedSerial}
    returning cert_expires_at`;
  return rows[0]?.cert_expires_at ?? null;
}

/** Every registered player of the owner, for command/all. */
export async function listPlayerTargets(sql: Queryable, ownerId: number): Promise<{ id: string; player_key: string }[]> {
  return sql<{ id: string; player_key: string }[]>`
    select id, player_key from players
    where owner_id = ${ownerId} and registration_status = 'registered'
    order by registered_at, id`;
}

/** Readiness: true when the database answers a trivial query. */
export async function databaseAnswers(sql: Queryable): Promise<boolean> {
  const [row] = await sql<{ ok: number }[]>`select 1 as ok`;
  return row?.ok === 1;
}
