// Ending a live MQTT session by session takeover (Mosquitto 2.0; verified in server/devenv/README.md):
// connect on the internal listener with the same client id and a clean start, then disconnect. The
// broker closes the old connection ("already connected, closing old connection") on whichever
// listener it was, and publishes its will. An mTLS player's client id is its certificate CN
// (use_username_as_clientid), so the player_key reaches it whatever id the device sent.
import mqtt from 'mqtt';

export interface KickOptions {
  /** The internal (password) listener. */
  url: string;
  username: string;
  password: string;
  /** Client id of the session to end (a player's is its player_key). */
  clientId: string;
  /** Socket errors after connecting (they must not become an unhandled 'error' event). */
  onError?: (err: Error) => void;
  connectTimeoutMs?: number;
}

export async function kickClient(o: KickOptions): Promise<void> {
  const kicker = await mqtt.connectAsync(o.url, {
    protocolVersion: 5,
    clientId: o.clientId,
    clean: true,
    username: o.username,
    password: o.password,
    reconnectPeriod: 0,
    connectTimeout: o.connectTimeoutMs ?? 10_000,
    properties: { sessionExpiryInterval: 0 },
  });
  kicker.on('error', (err) => o.onError?.(err));
  // The CONNACK comes after the broker has closed the old connection.
  await kicker.endAsync();
}
