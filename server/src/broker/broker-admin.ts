// What the server needs from the broker beyond publishing and subscribing: web users' broker
// accounts, ending a deleted player's access (revocation) and ending a session (kick). Everything
// outside server/src/broker/ uses only this interface (as ctx.brokerAdmin); the implementation is
// chosen by BROKER_ADMIN (config.ts) in broker/index.ts, the only module that names one:
// - mosquitto (the default; broker/mosquitto/): web users are dynamic-security clients, a
//   revocation is a CRL rewrite + SIGHUP + probe confirmation, a kick is a session takeover.
// A clustered broker with HTTP authentication/ACL hooks (EMQX, VerneMQ) would implement the same
// methods: web users as the web_credentials rows its hook checks, revocation as the hook refusing
// the serial plus a kick through its management API (docs/SCALING.md).
// server/test/broker/boundary.test.ts keeps the rest of the server off the implementations.
import type { Logger } from 'pino';
import type { MessageRouter } from '#runtime/v1';
import { postNewForFollowerTopic, postNewInCategoryTopic } from '@makapix/contract/asyncapi/channels';
import type { Config } from '../config.js';
import type { Sql } from '../db/index.js';
import type { BrokerConnection } from '../metrics/index.js';
import type { CertificateAuthority } from '../pki/index.js';

/** Topic filters a web user may subscribe to (and receive on): its own follow notifications, and the category promotions every web user gets. */
export interface WebUserTopics {
  own: string;
  categories: string;
}

/** The ACL of a web user: the filters GET /mqtt/bootstrap hands out. */
export function webUserTopics(userId: string): WebUserTopics {
  return { own: postNewForFollowerTopic.filterRest({ follower_id: userId }), categories: postNewInCategoryTopic.filterRest() };
}

/** A fresh WebSocket MQTT credential for a web user (GET /mqtt/bootstrap). */
export interface WebCredentialGrant {
  /** users.id */
  userInternalId: number;
  /** users.user_id: the MQTT username. */
  userId: string;
  password: string;
  /** sha256 of the password, the only form stored (web_credentials). */
  tokenHash: string;
  expiresAt: Date;
  /** What the user may subscribe to and receive; nothing else, and no publishing. */
  topics: WebUserTopics;
}

/** A revocation is recorded, but the broker has not been seen enforcing it (yet); retried in the background. */
export class RevocationNotConfirmedError extends Error {
  override readonly name = 'RevocationNotConfirmedError';
  constructor(readonly problem: string) {
    super('The player was deleted and its certificate revoked, but the broker has not confirmed yet that it refuses the certificate; the server keeps trying (GET /readyz answers 503 until it has)');
  }
}

export interface RevocationStatus {
  /** Every recorded revocation is enforced by the broker (as far as this instance knows). */
  inForce: boolean;
  /** Revoked serials this instance has not seen enforced yet. */
  pending: number;
  /** Since when something is pending (null when nothing is). */
  since: Date | null;
  /** Why the last attempt could not confirm (null when nothing is pending). */
  problem: string | null;
}

export interface BrokerAdmin {
  /** The BROKER_ADMIN value it implements (for logs). */
  readonly kind: string;
  /**
   * Why web users cannot get broker credentials with this configuration (GET /mqtt/bootstrap
   * answers an error saying so), or null when they can.
   */
  readonly webUsersUnavailable: string | null;
  /** Starts background work (e.g. enforcing the recorded revocations, sweeping expired web users). */
  start(): Promise<void>;
  /** Stops it; later calls may fail. */
  close(): Promise<void>;
  /**
   * Records the credential (its web_credentials row) and has the broker accept it with the grant's
   * ACL, replacing the user's previous password (a live session on the old one may be ended). A
   * failure leaves the previous credential in place. Throws when webUsersUnavailable is set.
   */
  upsertWebUser(grant: WebCredentialGrant): Promise<void>;
  /**
   * Has the broker refuse the user from now on and end its live session (password change,
   * logout-all; the caller deleted the credential row already). A user without an account is fine.
   */
  removeWebUser(userId: string): Promise<void>;
  /**
   * Ends a deleted player's access: the caller has recorded the revocation of `serials` (its
   * certificates); resolves once the broker refuses them, with the player's live session ended.
   * Throws RevocationNotConfirmedError when that cannot be confirmed yet (the session is ended
   * anyway; the implementation keeps trying and revocationStatus() reports it).
   */
  revokePlayer(playerKey: string, serials: readonly string[]): Promise<void>;
  /** Ends the live session whose client id is `clientId` (a player's is its player_key), on any listener. */
  kick(clientId: string): Promise<void>;
  /** Whether every recorded revocation is in force (GET /readyz). */
  revocationStatus(): RevocationStatus;
  /** This implementation's own broker connections by metric label (makapix_broker_connected), up or not. */
  connections(): Partial<Record<BrokerConnection, boolean>>;
}

/** What an implementation is built from (by broker/index.ts, or by a test's factory). */
export interface BrokerAdminDeps {
  config: Config;
  sql: Sql;
  /** Signs CRLs and probe certificates. */
  ca: CertificateAuthority;
  /** The server's connection to the internal listener. */
  router: MessageRouter;
  log: Logger;
  now: () => Date;
}

export type BrokerAdminFactory = (deps: BrokerAdminDeps) => BrokerAdmin;
