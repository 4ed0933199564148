// The server's logger with secrets kept out: request URLs and MQTT topics lose their player_key
// (secret-levels.ts), requests are logged without headers (so no Authorization or Cookie), and
// fields that hold passwords, tokens or keys are censored wherever they are logged by name.
// Fastify's request logging goes through the `req` serializer below: Fastify merges the
// serializers of the logger instance it is given over its own.
import type { FastifyBaseLogger } from 'fastify';
import { REDACTED, redactTopic, redactUrl } from './secret-levels.js';

interface LoggedRequest {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number } | null;
}

export const redactingSerializers = {
  req: (req: LoggedRequest) => ({
    method: req.method,
    url: typeof req.url === 'string' ? redactUrl(req.url) : req.url,
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket ? req.socket.remotePort : undefined,
  }),
  topic: (topic: unknown) => (typeof topic === 'string' ? redactTopic(topic) : topic),
};

/** Log fields censored by name (pino redact paths). */
export const REDACTED_FIELDS = [
  'password', '*.password', 'internalPassword', '*.internalPassword',
  'token', '*.token', 'jwtSecret', '*.jwtSecret',
  'authorization', 'headers.authorization', 'headers.cookie', 'req.headers.authorization', 'req.headers.cookie',
  'player_key', 'playerKey', 'topic_key', 'clientId',
];

const redacting = new WeakSet<object>();

/** A child of `log` that applies the serializers and censored fields above (a logger that already does is returned as is). */
export function withSecretRedaction<L extends FastifyBaseLogger>(log: L): L {
  if (redacting.has(log)) return log;
  const child = log.child({}, { serializers: redactingSerializers, redact: { paths: REDACTED_FIELDS, censor: REDACTED } }) as L;
  redacting.add(child);
  return child;
}
