// Ending a deleted player's access on the dev broker (Mosquitto 2.0.11; findings in README.md):
//   1. add the certificate's serial to the CA's CRL (crl.pem, the mTLS listener's `crlfile`);
//   2. SIGHUP the broker and wait for the reload: new TLS handshakes with that certificate now
//      fail ("certificate revoked"), but a live session is NOT ended by the reload;
//   3. kick the live session by session takeover (server/src/broker/kick.ts, the server's own):
//      the broker closes the player's connection and publishes its will. The player's reconnect
//      is refused by step 2.
// Order matters: kicking before the CRL reload would let the player reconnect at once.
// The server does the same from its database (server/src/broker/mosquitto/revocation-publisher.ts).
import { kickClient as kickSession } from '../src/broker/kick.js';
import type { Broker } from './broker.js';
import { revokeSerial } from './crl.js';
import { readDeniedPlayers, writeDeniedPlayers, type Account } from './broker-state.js';

/** End the session whose client id is `clientId` by taking it over from the internal listener. */
export async function kickClient(internalUrl: string, account: Account, clientId: string): Promise<void> {
  await kickSession({ url: internalUrl, username: account.username, password: account.password, clientId });
}

export interface RevokeAndKickOptions {
  broker: Broker;
  /** Directory of the CA that issued the certificate (ca.key, revoked.json, crl.pem). */
  caDir: string;
  /** The player's key = its certificate CN = its MQTT username and client id. */
  playerKey: string;
  /** Serial of the player's certificate (hex). */
  serial: string;
}

export async function revokeAndKick(o: RevokeAndKickOptions): Promise<void> {
  await revokeSerial(o.caDir, o.serial);
  await o.broker.reload();
  await kickClient(o.broker.urls.internal, o.broker.serverAccount, o.playerKey);
}

/**
 * Alternative without a CRL (shown to work, weaker): a `user <key>` / `topic deny #` section in
 * the devices ACL plus SIGHUP mutes the player (PUBACK 135, nothing delivered) but neither
 * disconnects it nor stops it from reconnecting. Persisted in denied-players.json.
 */
export async function denyPlayer(broker: Broker, playerKey: string): Promise<void> {
  writeDeniedPlayers(broker.files, [...readDeniedPlayers(broker.files), playerKey]);
  broker.writeDevicesAcl();
  await broker.reload();
}
