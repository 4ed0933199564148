// Periodic purges of the shared state the MQTT side leaves behind: idempotency records (kept 10
// minutes: far beyond the firmware's ~40 s of redeliveries, and a stored page can be up to limits.maxPayloadBytes),
// rate-limit counters of ended windows, and
// outbox rows published (and follower fan-out jobs finished) more than a day ago, and refresh tokens
// expired more than a day ago (a used one is kept until then: its reuse must still be recognised).
// Idempotent; every instance may run it.
import type { AppContext } from '../context.js';
import { idempotency, outbox } from '../db/index.js';
import { purgeExpiredRateLimits } from '../db/rate-limit.js';
import { deleteExpiredRefreshTokens } from '../db/refresh-tokens.js';

/** How long an answer is kept for redeliveries of its request. */
export const IDEMPOTENCY_RETENTION_SECONDS = 600;

export interface Housekeeping {
  run(): Promise<void>;
  stop(): Promise<void>;
}

export function startHousekeeping(ctx: AppContext, opts: { intervalSeconds: number }): Housekeeping {
  let running: Promise<void> | null = null;
  const run = (): Promise<void> => {
    running ??= (async () => {
      const [requests, counters, published, refreshTokens] = await Promise.all([
        idempotency.purgeOldRequests(ctx.sql, IDEMPOTENCY_RETENTION_SECONDS),
        purgeExpiredRateLimits(ctx.sql),
        outbox.purgePublished(ctx.sql),
        deleteExpiredRefreshTokens(ctx.sql, new Date(ctx.now().getTime() - 86_400_000)),
      ]);
      if (requests + counters + published + refreshTokens > 0) ctx.log.info({ requests, counters, published, refreshTokens }, 'housekeeping purged old rows');
    })()
      .catch((err: unknown) => ctx.log.warn({ err }, 'housekeeping failed'))
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => void run(), opts.intervalSeconds * 1000);
  timer.unref();
  return {
    run,
    async stop() {
      clearInterval(timer);
      if (running) await running;
    },
  };
}
