// Startup's broker step: the server's own MQTT connection, waiting for a broker that is not
// reachable yet (see wait-for.ts). Once connected, mqtt.js reconnects by itself (reconnectPeriod);
// before that, each attempt is one connection that either gets its CONNACK or is closed.
// A CONNACK refusing our user name or password fails at once.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { FastifyBaseLogger } from 'fastify';
import { NETWORK_ERROR_CODES, urlWithoutPassword, waitFor, type FailureKind, type StartupBudget } from './wait-for.js';

/** The connection closed before the broker's CONNACK (a broker still starting up, a proxy without a backend). */
export class ClosedBeforeConnackError extends Error {
  override readonly name = 'ClosedBeforeConnackError';
  constructor() {
    super('connection closed before CONNACK');
  }
}

/** MQTT 5 CONNACK reason codes. */
const BAD_USER_NAME_OR_PASSWORD = 134;
const NOT_AUTHORIZED = 135;
const RETRY_REASON_CODES: ReadonlySet<number> = new Set([136 /* server unavailable */, 137 /* server busy */, 159 /* connection rate exceeded */]);

export function classifyBrokerError(err: unknown): FailureKind {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'number') {
    // mqtt.js's ErrorWithReasonCode: the broker answered CONNACK with this reason code.
    if (code === BAD_USER_NAME_OR_PASSWORD || code === NOT_AUTHORIZED) return 'credentials';
    return RETRY_REASON_CODES.has(code) ? 'retry' : 'fatal';
  }
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return 'retry';
  if (err instanceof ClosedBeforeConnackError) return 'retry';
  if (err instanceof Error && err.message === 'connack timeout') return 'retry';
  return 'fatal';
}

/** One connection attempt: resolves on CONNACK success; on any failure the client is ended and the error rejected. */
export function connectOnce(url: string, options: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, options);
    const detach = () => {
      client.off('connect', onConnect);
      client.off('error', onError);
      client.off('close', onClose);
    };
    const onConnect = () => {
      detach();
      resolve(client);
    };
    const onError = (err: Error) => {
      detach();
      client.on('error', () => {}); // a late error of the abandoned client must not crash the process
      client.end(true);
      reject(err);
    };
    const onClose = () => onError(new ClosedBeforeConnackError());
    client.on('connect', onConnect);
    client.on('error', onError);
    client.on('close', onClose);
  });
}

/** The first connection to the broker, retried while the broker is unreachable. Throws StartupError or the connection's error. */
export function connectBrokerWhenReachable(
  url: string,
  options: IClientOptions,
  opts: { budget: StartupBudget; log: FastifyBaseLogger },
): Promise<MqttClient> {
  return waitFor({
    dependency: {
      name: 'MQTT broker',
      url: urlWithoutPassword(url),
      credentialsHint: 'MQTT_INTERNAL_USERNAME and MQTT_INTERNAL_PASSWORD',
    },
    budget: opts.budget,
    log: opts.log,
    attempt: () => connectOnce(url, options),
    classify: classifyBrokerError,
  });
}
