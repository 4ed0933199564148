// Runs the orphan sweep (sweep.ts) once shortly after start and then every VAULT_SWEEP_INTERVAL_SECONDS.
// Every instance may run it: deleting a file twice is harmless, and a file is only removed when no
// row records it.
import type { AppContext } from '../context.js';
import { sweepOrphans } from './sweep.js';

export interface VaultSweep {
  stop(): Promise<void>;
}

export function startVaultSweep(ctx: Pick<AppContext, 'sql' | 'vault' | 'log'>, intervalSeconds: number): VaultSweep {
  let running: Promise<void> | null = null;
  const run = () => {
    running ??= sweepOrphans(ctx.sql, ctx.vault.store)
      .then((r) => {
        if (r.orphans + r.temporary > 0) ctx.log.info(r, 'vault sweep removed files without a committed row');
      })
      .catch((err: unknown) => ctx.log.warn({ err }, 'vault sweep failed'))
      .finally(() => {
        running = null;
      });
  };
  const first = setTimeout(run, 5_000);
  const timer = setInterval(run, intervalSeconds * 1000);
  first.unref();
  timer.unref();
  return {
    async stop() {
      clearTimeout(first);
      clearInterval(timer);
      if (running) await running;
    },
  };
}
