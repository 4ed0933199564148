// Players over REST: a device provisions itself (pending player + registration code; optionally a
// CSR, so that its private key never leaves it), its owner registers it with the code (the device
// certificate is issued), the device downloads its credentials; the owner (or a moderator) lists,
// reads, renames, deletes (the certificate is revoked and the live session ended) and renews the
// certificate. Protocol 1.1 (the p3a firmware): every credentials fetch issues a device token, with
// which the device renews its own certificate (renewDeviceCert) and which it can replace knowing
// only its key (rotatePlayerToken; immediately, or after the owner's approval).
import type { HttpError } from '#runtime/v1';
import { restError, type Handlers } from '@makapix/contract/openapi/routes';
import { PlayerNameBounds } from '@makapix/contract/components/identifiers';
import type { Player } from '@makapix/contract/openapi/schemas';
import { generateRegistrationCode, newDeviceToken, normalizeRegistrationCode } from '../auth/index.js';
import type { AppContext } from '../context.js';
import { throttle } from './throttle.js';
import { Constraints, isUniqueViolation, rateLimit } from '../db/index.js';
import {
  completeRegistration, deletePlayerOfOwner, deleteStalePendingPlayers,
  findPendingWithOwnerCount, findPlayerOfOwner, insertPendingPlayer, listPlayersOfOwner, lockUserForRegistration,
  releaseExpiredCode, renamePlayer, replaceCertificate, takeCredentials, type Certificate, type PendingPlayer, type PlayerRow,
} from '../db/players.js';
import { approveTokenRotation, rotateDeviceToken } from '../db/device-tokens.js';
import { recordRevocations, type Revocation } from '../db/revocations.js';
import {
  canRenew, csrPublicKey, issueClientCertificate, issueForPublicKey, PkiError, renewalOpensAt, type IssueOptions,
} from '../pki/index.js';
import { RevocationNotConfirmedError } from '../broker/broker-admin.js';
import { currentDevice, currentUser } from './auth-hook.js';
import { resolveOwner, type OwnerOperation } from './owner.js';

type Ops =
  | 'provisionPlayer' | 'registerPlayer' | 'getPlayerCredentials' | 'listPlayers' | 'getPlayer' | 'updatePlayer' | 'deletePlayer'
  | 'renewPlayerCert' | 'renewDeviceCert' | 'rotatePlayerToken' | 'approvePlayerTokenRotation';

/** What a certificate renewal needs to know of the player (owner route or the device's own token). */
interface RenewablePlayer {
  id: string;
  player_key: string;
  cert_serial: string;
  cert_expires_at: Date;
  device_public_key: string | null;
}

/** At most this many players per user (CONTRACT_NOTES 6). */
export const MAX_PLAYERS_PER_USER = 128;
/** Provisioning calls per client address per minute. */
/** Pending players whose code expired this long ago are deleted (opportunistically, while provisioning). */
const STALE_PENDING_GRACE_SECONDS = 3600;
/** That cleanup runs at most once per this many milliseconds per server instance (not on every provisioning). */
const STALE_PENDING_CLEANUP_INTERVAL_MS = 30_000;
const CODE_ATTEMPTS = 10;

export function toPlayer(row: PlayerRow): Player {
  return {
    id: row.id,
    player_key: row.player_key,
    owner_id: row.owner_user_id,
    name: row.name,
    device_model: row.device_model,
    firmware_version: row.firmware_version,
    registration_status: row.registration_status,
    connection_status: row.connection_status,
    last_seen_at: row.last_seen_at?.toISOString() ?? null,
    current_post_id: row.current_post_id,
    cert_expires_at: row.cert_expires_at.toISOString(),
    registered_at: row.registered_at.toISOString(),
    created_at: row.created_at.toISOString(),
    api_token_rotated_at: row.api_token_rotated_at?.toISOString() ?? null,
    api_token_rotation_requested_at: row.api_token_rotation_requested_at?.toISOString() ?? null,
    // since REST 1.2 the features also at the top of `capabilities` and the state at the top of
    // the player: where the Makapix app (and the original server) has them
    ...(row.capabilities && row.capabilities_at
      ? { capabilities: { ...row.capabilities, ...row.capabilities.features, reported_at: row.capabilities_at.toISOString() } }
      : {}),
    ...(row.state && row.state_at ? { state: { ...row.state, reported_at: row.state_at.toISOString() }, ...row.state } : {}),
  };
}

/** A player name as stored: trimmed, within PlayerName's length bounds (1..100). */
function playerName(op: 'registerPlayer' | 'updatePlayer', raw: string): string {
  const name = raw.trim();
  const { minLength: min, maxLength: max } = PlayerNameBounds;
  if (name.length < min || name.length > max) throw restError(op, 400, 'invalid_request', `name: must be ${min}..${max} characters (after trimming spaces)`);
  return name;
}

function notFoundPlayer(op: OwnerOperation): HttpError {
  return restError(op, 404, 'not_found', 'no such player');
}

/** The verified public key (SPKI PEM) of a provisioning CSR; a 400 naming csr_pem when it is unusable. */
async function verifiedCsrKey(csrPem: string): Promise<string> {
  try {
    return await csrPublicKey(csrPem);
  } catch (err) {
    if (err instanceof PkiError) throw restError('provisionPlayer', 400, 'invalid_request', `csr_pem: ${err.message}`);
    throw err;
  }
}

export function playerHandlers(ctx: AppContext): Pick<Handlers, Ops> {
  const { config } = ctx;
  const broker = { host: config.broker.publicHost, port: config.broker.publicPort };
  let lastStaleCleanup = -Infinity;

  async function provision(deviceModel: string | null, firmwareVersion: string | null, devicePublicKey: string | null): Promise<PendingPlayer> {
    for (let attempt = 0; attempt < CODE_ATTEMPTS; attempt++) {
      const code = generateRegistrationCode();
      try {
        return await insertPendingPlayer(ctx.sql, { code, ttlSeconds: config.registrationCodeTtlSeconds, deviceModel, firmwareVersion, devicePublicKey });
      } catch (err) {
        if (!isUniqueViolation(err, Constraints.playersRegistrationCodeUnique)) throw err;
        // Held by another pending player: free it if its code has expired, then draw again.
        await releaseExpiredCode(ctx.sql, code);
      }
    }
    throw new Error(`no free registration code after ${CODE_ATTEMPTS} attempts`);
  }

  /** A certificate for the player: for the device's own key when it sent a CSR, else for a new key the server generates. */
  async function issueFor(playerKey: string, devicePublicKey: string | null, opts: IssueOptions): Promise<Certificate> {
    if (devicePublicKey !== null) return { ...(await issueForPublicKey(ctx.ca, devicePublicKey, playerKey, opts)), keyPem: null };
    return issueClientCertificate(ctx.ca, playerKey, opts);
  }

  /**
   * A new certificate for `player` when its current one is inside the renewal window (else the
   * operation's 400); null when a concurrent renewal or a deletion changed the player meanwhile.
   */
  async function renew(op: 'renewPlayerCert' | 'renewDeviceCert', player: RenewablePlayer): Promise<{ cert: Certificate; expiresAt: Date } | null> {
    const now = ctx.now();
    const windowDays = config.pki.renewWindowDays;
    if (!canRenew(player.cert_expires_at, now, windowDays)) {
      throw restError(
        op,
        400,
        'invalid_request',
        `The certificate expires at ${player.cert_expires_at.toISOString()}; it can be renewed from ${renewalOpensAt(player.cert_expires_at, windowDays).toISOString()}`,
      );
    }
    // Same public key again for a device that keeps its key; a new server-generated key otherwise.
    const cert = await issueFor(player.player_key, player.device_public_key, { days: config.pki.certValidityDays, now });
    // the device gets the new key in renewDeviceCert's answer; after an owner renewal it fetches it from getPlayerCredentials
    const keyFetchedAt = op === 'renewDeviceCert' ? now : null;
    const expiresAt = await replaceCertificate(ctx.sql, { playerId: player.id, expectedSerial: player.cert_serial, cert, keyFetchedAt });
    return expiresAt ? { cert, expiresAt } : null;
  }

  return {
    async provisionPlayer(req) {
      const limit = await rateLimit.hit(ctx.sql, [{ key: `provision:${req.ip}`, limit: ctx.config.rateLimits.provisionPerAddressPerMinute }]);
      if (!limit.allowed) {
        throw restError('provisionPlayer', 429, 'rate_limit_exceeded', `Rate limit exceeded; retry in ${limit.retryAfterSeconds} seconds (at most ${ctx.config.rateLimits.provisionPerAddressPerMinute} provisioning requests per minute from one address)`, {
          'Retry-After': String(limit.retryAfterSeconds),
        });
      }
      if (performance.now() - lastStaleCleanup >= STALE_PENDING_CLEANUP_INTERVAL_MS) {
        lastStaleCleanup = performance.now();
        await deleteStalePendingPlayers(ctx.sql, STALE_PENDING_GRACE_SECONDS).catch((err) =>
          ctx.log.warn({ err: (err as Error).message }, 'stale pending players cleanup failed'),
        );
      }
      const devicePublicKey = req.body.csr_pem === undefined ? null : await verifiedCsrKey(req.body.csr_pem);
      const p = await provision(req.body.device_model ?? null, req.body.firmware_version ?? null, devicePublicKey);
      return {
        status: 201,
        body: {
          player_key: p.player_key,
          registration_code: p.registration_code,
          registration_code_expires_at: p.registration_code_expires_at.toISOString(),
          mqtt_broker: broker,
        },
      };
    },

    async registerPlayer(req) {
      const user = currentUser(req);
      await throttle(ctx, 'registerPlayer', `register:user:${user.user_id}`, ctx.config.rateLimits.registerPlayerPerUserPerMinute, 'registration attempts per user');
      const code = normalizeRegistrationCode(req.body.registration_code);
      if (code === null) throw restError('registerPlayer', 404, 'not_found', 'Invalid or expired registration code');
      const name = playerName('registerPlayer', req.body.name);
      const row = await ctx.sql.begin(async (tx) => {
        // sent together (one round trip); PostgreSQL runs them in order, the count under the user's lock
        const [, found] = await Promise.all([lockUserForRegistration(tx, user.id), findPendingWithOwnerCount(tx, code, user.id)]);
        if (!found) throw restError('registerPlayer', 404, 'not_found', 'Invalid or expired registration code');
        const { pending } = found;
        if (found.ownerPlayers >= MAX_PLAYERS_PER_USER) {
          throw restError('registerPlayer', 409, 'conflict', `a user may register at most ${MAX_PLAYERS_PER_USER} players; delete one first`);
        }
        const cert = await issueFor(pending.player_key, pending.device_public_key, { days: config.pki.certValidityDays, now: ctx.now() });
        return completeRegistration(tx, { playerId: pending.id, ownerId: user.id, name, cert });
      });
      return { status: 201, body: toPlayer(row) };
    },

    async getPlayerCredentials(req) {
      // Every successful fetch issues a new device token (the previous one dies): only its hash is kept.
      // The private key is served until its grace period after the first fetch is over (then erased: 410).
      const token = newDeviceToken();
      const now = ctx.now();
      const grace = config.credentialsKeyGraceSeconds;
      const creds = await takeCredentials(ctx.sql, req.params.player_key, token.hash, { now, keyCutoff: new Date(now.getTime() - grace * 1000) });
      if (!creds) throw restError('getPlayerCredentials', 404, 'not_found', 'Player not registered yet');
      if (creds.kind === 'gone') {
        throw restError('getPlayerCredentials', 410, 'gone',
          `The private key was downloaded at ${creds.key_fetched_at.toISOString()} and is no longer served (grace period ${grace} s); ` +
          'the device keeps the key it downloaded, renews its certificate with renewDeviceCert, or is deleted and provisioned again');
      }
      // A device that sent a CSR keeps its key: no key_pem (the server never had it).
      const key = creds.key_pem === null ? {} : { key_pem: creds.key_pem };
      return { status: 200, body: { ca_pem: ctx.ca.certPem, cert_pem: creds.cert_pem, ...key, broker, api_token: token.token } };
    },

    async renewDeviceCert(req) {
      const device = currentDevice(req);
      await throttle(ctx, 'renewDeviceCert', `renew-cert:player:${device.id}`, config.rateLimits.renewCertPerPlayerPerMinute, 'certificate renewals per player');
      const renewed = await renew('renewDeviceCert', device);
      if (!renewed) throw restError('renewDeviceCert', 400, 'invalid_request', 'The certificate was just renewed (or the player deleted); check again later');
      const { cert, expiresAt } = renewed;
      const key = cert.keyPem === null ? {} : { key_pem: cert.keyPem };
      return { status: 200, body: { cert_pem: cert.certPem, ...key, ca_pem: ctx.ca.certPem, cert_expires_at: expiresAt.toISOString() } };
    },

    async rotatePlayerToken(req) {
      const playerKey = req.params.player_key;
      await throttle(ctx, 'rotatePlayerToken', `token-rotate:${playerKey.toLowerCase()}`, config.rateLimits.tokenRotatePerPlayerPerMinute, 'token rotations per player');
      const token = newDeviceToken();
      const out = await rotateDeviceToken(ctx.sql, playerKey, token.hash, config.deviceTokens.rotation === 'owner_confirmation');
      if (out.kind === 'not_found') throw restError('rotatePlayerToken', 404, 'not_found', 'No registered player has this key');
      if (out.kind === 'pending') return { status: 202, body: { status: 'pending', requested_at: out.requestedAt.toISOString() } };
      return { status: 200, body: { api_token: token.token } };
    },

    async approvePlayerTokenRotation(req) {
      const { owner } = await resolveOwner(ctx, 'approvePlayerTokenRotation', req, req.params.sqid);
      const player = await findPlayerOfOwner(ctx.sql, owner.id, req.params.player_id);
      if (!player) throw notFoundPlayer('approvePlayerTokenRotation');
      if (!(await approveTokenRotation(ctx.sql, owner.id, player.id))) {
        throw restError('approvePlayerTokenRotation', 409, 'conflict', 'No token rotation is waiting for approval');
      }
      return { status: 200, body: toPlayer((await findPlayerOfOwner(ctx.sql, owner.id, player.id)) ?? player) };
    },

    async listPlayers(req) {
      const { owner } = await resolveOwner(ctx, 'listPlayers', req, req.params.sqid);
      const rows = await listPlayersOfOwner(ctx.sql, owner.id);
      const players = rows.map(toPlayer);
      // `items`: the same array under the name the Makapix app reads (REST 1.2)
      return { status: 200, body: { players, items: players } };
    },

    async getPlayer(req) {
      const { owner } = await resolveOwner(ctx, 'getPlayer', req, req.params.sqid);
      const row = await findPlayerOfOwner(ctx.sql, owner.id, req.params.player_id);
      if (!row) throw notFoundPlayer('getPlayer');
      return { status: 200, body: toPlayer(row) };
    },

    async updatePlayer(req) {
      const { owner } = await resolveOwner(ctx, 'updatePlayer', req, req.params.sqid);
      const row = await renamePlayer(ctx.sql, owner.id, req.params.player_id, playerName('updatePlayer', req.body.name));
      if (!row) throw notFoundPlayer('updatePlayer');
      return { status: 200, body: toPlayer(row) };
    },

    async deletePlayer(req) {
      const { owner } = await resolveOwner(ctx, 'deletePlayer', req, req.params.sqid);
      const deleted = await ctx.sql.begin(async (tx) => {
        const d = await deletePlayerOfOwner(tx, owner.id, req.params.player_id);
        if (!d) return null;
        const revoked: Revocation[] = [];
        if (d.cert_serial) revoked.push({ serial: d.cert_serial, playerKey: d.player_key, certExpiresAt: d.cert_expires_at });
        if (d.previous_cert_serial && d.previous_cert_expires_at && d.previous_cert_expires_at > ctx.now()) {
          revoked.push({ serial: d.previous_cert_serial, playerKey: d.player_key, certExpiresAt: d.previous_cert_expires_at });
        }
        await recordRevocations(tx, revoked);
        return { player_key: d.player_key, serials: revoked.map((r) => r.serial) };
      });
      if (!deleted) throw notFoundPlayer('deletePlayer');
      try {
        // Success only once the broker refuses the certificates (and the live session is ended).
        await ctx.brokerAdmin.revokePlayer(deleted.player_key, deleted.serials);
      } catch (err) {
        if (!(err instanceof RevocationNotConfirmedError)) throw err;
        throw restError('deletePlayer', 503, 'internal_error', err.message);
      }
      return { status: 204, body: null };
    },

    async renewPlayerCert(req) {
      const { owner } = await resolveOwner(ctx, 'renewPlayerCert', req, req.params.sqid);
      const player = await findPlayerOfOwner(ctx.sql, owner.id, req.params.player_id);
      if (!player) throw notFoundPlayer('renewPlayerCert');
      const renewed = await renew('renewPlayerCert', player);
      if (!renewed) {
        // Deleted or renewed by a concurrent request meanwhile.
        const again = await findPlayerOfOwner(ctx.sql, owner.id, player.id);
        if (!again) throw notFoundPlayer('renewPlayerCert');
        throw restError('renewPlayerCert', 400, 'invalid_request', `The certificate was just renewed; it expires at ${again.cert_expires_at.toISOString()}`);
      }
      return {
        status: 200,
        body: {
          cert_expires_at: renewed.expiresAt.toISOString(),
          message: `Certificate renewed; the player downloads it from /player/${player.player_key}/credentials`,
        },
      };
    },
  };
}
