// The presence sweep: every few seconds, players that are online but have not been heard from for
// the silence threshold (3 minutes by default) are marked offline. Every instance may run it; the
// statement is idempotent.
import type { AppContext } from '../context.js';
import { markSilentPlayersOffline } from '../db/player-session.js';

export interface PresenceSweeper {
  /** One sweep now; resolves with how many players went offline. */
  sweep(): Promise<number>;
  stop(): Promise<void>;
}

export function startPresenceSweeper(ctx: AppContext, opts: { intervalSeconds: number; silenceSeconds: number }): PresenceSweeper {
  let running: Promise<number> | null = null;
  const sweep = (): Promise<number> => {
    running ??= markSilentPlayersOffline(ctx.sql, opts.silenceSeconds)
      .then((n) => {
        if (n > 0) {
          ctx.metrics.playersMarkedOffline(n);
          ctx.log.info({ players: n }, 'marked silent players offline');
        }
        return n;
      })
      .catch((err: unknown) => {
        ctx.log.error({ err }, 'presence sweep failed');
        return 0;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => void sweep(), opts.intervalSeconds * 1000);
  timer.unref();
  return {
    sweep,
    async stop() {
      clearInterval(timer);
      if (running) await running;
    },
  };
}
