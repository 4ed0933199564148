// The MQTT workers of one server instance: the request pipeline, the status writer, the 1.1
// player topics (views, capabilities and state, command acknowledgements), the presence
// sweep, the notification (outbox) publisher and housekeeping. Started after the broker
// connection and the database are up; stop() ends them in the reverse order: no new messages
// (unsubscribe), in-flight requests finish, pending status updates are written, timers stop.
import type { AppContext } from '../context.js';
import { startCommandAckWorker } from './command-acks.js';
import { startHousekeeping } from './housekeeping.js';
import { startOutboxPublisher } from './outbox-publisher.js';
import { startPlayerReportsWorker } from './player-reports.js';
import { startPresenceSweeper } from './presence.js';
import { startRequestPipeline } from './requests.js';
import { deriveServerKeys } from './server-keys.js';
import { startStatusWorker } from './status.js';
import { startViewWorker } from './views.js';

export interface Workers {
  wakePublisher(): void;
  stop(): Promise<void>;
}

export async function startWorkers(ctx: AppContext): Promise<Workers> {
  const settings = ctx.config.workers;
  // Responses are small QoS 1 publishes: without TCP_NODELAY on the server's socket each one can
  // wait for a delayed ACK (~40 ms). Set on every (re)connect, as mqtt.js makes a new socket.
  const noDelay = () => (ctx.mqtt.stream as unknown as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  noDelay();
  ctx.mqtt.on('connect', noDelay);
  const keys = deriveServerKeys(ctx.config.auth.jwtSecret);
  const stops: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | null = null;
  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      ctx.mqtt.removeListener('connect', noDelay);
      for (const stop of stops.reverse()) {
        await stop().catch((err: unknown) => ctx.log.warn({ err }, 'stopping an MQTT worker failed'));
      }
    })());
  try {
    const housekeeping = startHousekeeping(ctx, { intervalSeconds: settings.housekeepingSeconds });
    stops.push(() => housekeeping.stop());
    const publisher = await startOutboxPublisher(ctx, { pollSeconds: settings.outboxPollSeconds, fanoutChunk: settings.fanoutChunk });
    stops.push(() => publisher.stop());
    const presence = startPresenceSweeper(ctx, {
      intervalSeconds: settings.presenceSweepSeconds,
      silenceSeconds: settings.presenceTimeoutSeconds,
    });
    stops.push(() => presence.stop());
    const status = await startStatusWorker(ctx, { batchMs: settings.statusBatchMs });
    stops.push(() => status.stop());
    const reports = await startPlayerReportsWorker(ctx);
    stops.push(() => reports.stop());
    const acks = await startCommandAckWorker(ctx);
    stops.push(() => acks.stop());
    const views = await startViewWorker(ctx, keys);
    stops.push(() => views.stop());
    const requests = await startRequestPipeline(ctx, keys);
    stops.push(() => requests.stop());
    ctx.log.info({ shareGroup: ctx.config.broker.shareGroup, ...settings }, 'MQTT workers started');
    return { wakePublisher: () => publisher.wake(), stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
