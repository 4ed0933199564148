// Player status (heartbeats, changes, last wills) from $share/<group>/makapix/player/+/status.
// A status whose payload key is not the topic's key is dropped and counted. Updates are collected
// for a few milliseconds and written with one statement (at most one row per player: a later
// message overrides the fields it carries); unknown and unregistered players change nothing.
import type { InboundError } from '#runtime/v1';
import { subscribePlayerStatus } from '@makapix/contract/asyncapi/operations';
import type { AppContext } from '../context.js';
import { pgErrorCode } from '../db/index.js';
import { applyStatusBatch, type StatusUpdate } from '../db/player-session.js';

const MAX_BATCH = 1000;
const DEADLOCK = '40P01';

export interface StatusWorker {
  /** Unsubscribes and writes what is still pending. */
  stop(): Promise<void>;
  /** Writes what is pending now (tests, shutdown). */
  flush(): Promise<void>;
}

export async function startStatusWorker(ctx: AppContext, opts: { batchMs: number }): Promise<StatusWorker> {
  let pending = new Map<string, StatusUpdate>();
  let timer: NodeJS.Timeout | null = null;
  /** Batches are written one after the other (each waits for the previous one). */
  let chain: Promise<void> = Promise.resolve();

  const write = async (batch: StatusUpdate[]): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        const changed = await applyStatusBatch(ctx.sql, batch);
        ctx.metrics.statusUpdates('applied', changed);
        ctx.metrics.statusUpdates('ignored', batch.length - changed);
        return;
      } catch (err) {
        if (pgErrorCode(err) === DEADLOCK && attempt < 3) continue;
        // a value the database refuses (data exception, class 22) must not sink the other players'
        // updates: write them one by one and drop only the bad ones
        if (pgErrorCode(err)?.startsWith('22') && batch.length > 1) {
          for (const one of batch) await write([one]);
          return;
        }
        ctx.metrics.statusUpdates('failed', batch.length);
        ctx.log.error({ err, players: batch.length }, 'could not write player status updates');
        return;
      }
    }
  };

  const flush = (): Promise<void> => {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (pending.size > 0) {
      const batch = [...pending.values()];
      pending = new Map();
      chain = chain.then(() => write(batch));
    }
    return chain;
  };

  const unsubscribe = await subscribePlayerStatus(
    ctx.router,
    ({ params, payload }) => {
      if (payload.player_key.toLowerCase() !== params.player_key.toLowerCase()) {
        ctx.metrics.mqttDropped('key_mismatch');
        ctx.log.warn({ topic_key: params.player_key }, 'status payload player_key differs from the topic; dropped');
        return;
      }
      ctx.metrics.statusReceived();
      const key = params.player_key.toLowerCase();
      const previous = pending.get(key);
      const update: StatusUpdate = { ...previous, playerKey: key, status: payload.status };
      if (payload.current_post_id !== undefined) update.currentPostId = payload.current_post_id;
      if (payload.firmware_version !== undefined) update.firmwareVersion = payload.firmware_version;
      pending.set(key, update);
      if (pending.size >= MAX_BATCH) void flush();
      else if (timer === null) timer = setTimeout(() => void flush(), opts.batchMs);
    },
    {
      share: ctx.config.broker.shareGroup,
      onError: (e: InboundError) => {
        ctx.metrics.mqttDropped(e.reason);
        ctx.log.warn({ topic: e.topic, reason: e.reason, detail: e.message }, 'player status dropped');
      },
    },
  );

  return {
    flush,
    async stop() {
      await unsubscribe().catch((err: unknown) => ctx.log.warn({ err }, 'unsubscribing the status topic failed'));
      await flush();
    },
  };
}
