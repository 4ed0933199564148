// Taking over the request session of an instance that went away. Mosquitto keeps handing a share
// of the shared subscription's requests to an instance whose persistent session is offline (they
// wait in its session until it comes back or the session expires): with one of two instances
// killed for good, half of the requests would wait in vain. So every instance writes a heartbeat
// (table request_sessions) every third of MQTT_SESSION_TAKEOVER_SECONDS; when one is silent
// longer than that, a live instance claims its row, connects under its client id (resuming its
// session: the broker hands over what waits there), answers those requests through the same
// pipeline, and disconnects with a session expiry of 0, which ends the session and removes it from
// the shared group. Should the instance come back meanwhile, the broker hands the session to it
// and the take-over connection just ends (nothing is lost: unanswered requests stay unacknowledged).
// An instance only claims once its own heartbeats have succeeded for the whole silence period, so
// that after a database outage (nobody could write) live instances are not taken over.
import type { AppContext } from '../context.js';
import { claimSilent, heartbeat } from '../db/request-sessions.js';
import type { RequestConnection } from './request-connection.js';

/** Requests served on one connection. */
export interface ServedOn {
  connection: RequestConnection;
  stop(): Promise<void>;
}

export interface SessionTakeover {
  stop(): Promise<void>;
}

/** After a take-over connection has been quiet this long with every request answered, it ends. */
const QUIET_MS = 1_000;
/** The longest a take-over runs. */
const MAX_TAKEOVER_MS = 60_000;

export function startSessionTakeover(
  ctx: AppContext,
  serveAs: (clientId: string) => Promise<ServedOn>,
): SessionTakeover {
  const { clientId, sessionExpirySeconds, takeoverSeconds } = ctx.config.broker.requests;
  if (sessionExpirySeconds === 0 || takeoverSeconds === 0) return { stop: async () => {} };
  let healthySince: number | null = null;
  let running: Promise<void> | null = null;
  let stopped = false;

  const takeOver = async (silent: string): Promise<void> => {
    ctx.log.warn({ clientId: silent, silentSeconds: takeoverSeconds }, 'taking over the MQTT request session of a silent server instance');
    let served: ServedOn | null = null;
    const deadline = Date.now() + MAX_TAKEOVER_MS;
    try {
      served = await Promise.race([
        serveAs(silent),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no SUBACK within 10 s')), 10_000).unref()),
      ]);
      const conn = served.connection;
      let last = Date.now();
      conn.client.on('message', () => { last = Date.now(); });
      // until quiet with everything answered, or the instance came back (its connection took the session)
      while (!stopped && Date.now() < deadline && conn.client.connected) {
        if (Date.now() - last >= QUIET_MS && conn.acks.pending === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      ctx.log.warn({ clientId: silent }, 'took over the MQTT request session of a silent server instance');
    } catch (err) {
      ctx.log.warn({ err, clientId: silent }, 'taking over the MQTT request session of a silent server instance failed');
    } finally {
      await served?.stop().catch(() => {});
    }
  };

  const tick = async (): Promise<void> => {
    try {
      await heartbeat(ctx.sql, clientId, sessionExpirySeconds);
      healthySince ??= Date.now();
    } catch {
      healthySince = null;
      return;
    }
    if (Date.now() - healthySince < takeoverSeconds * 1000) return;
    const silent = await claimSilent(ctx.sql, clientId, takeoverSeconds).catch(() => null);
    if (silent !== null && !stopped) await takeOver(silent);
  };

  const timer = setInterval(() => {
    if (running || stopped) return;
    running = tick().finally(() => { running = null; });
  }, Math.max(1, Math.floor(takeoverSeconds / 3)) * 1000);
  timer.unref();
  running = tick().finally(() => { running = null; });

  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
