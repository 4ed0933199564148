// The notification publisher: claims outbox rows (FOR UPDATE SKIP LOCKED + a lease, so two
// instances never hold the same row), publishes each through the generated channel whose topic
// template parses the row's topic (the payload is validated on the way out), marks the
// published ones with one statement and gives failed ones back for a later retry.
// Woken by ctx.wakePublisher() (after an insert in this process), by LISTEN makapix_outbox
// (inserts anywhere), and by a slow poll (retries, expired leases, missed notifications).
//
// It also expands fan-out jobs (a new post's one-row-per-follower messages, db/outbox.ts): each
// round of the drain expands one chunk of one job (its own transaction: the chunk's rows and the
// job's progress commit together; a job is leased to this publisher, so other instances work on
// other jobs, and resume this one only if its lease runs out), then publishes about a chunk's worth
// of rows, so publishing keeps pace with the expansion. Every expanded chunk signals makapix_outbox,
// which brings the other instances in to help publish.
import { randomUUID } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { PayloadValidationError } from '#runtime/v1';
import { postNew, postNewForFollower, postNewForFollowerTopic, postNewInCategory, postNewInCategoryTopic, postNewTopic } from '@makapix/contract/asyncapi/channels';
import { publishPostNew, publishPostNewForFollower, publishPostNewInCategory } from '@makapix/contract/asyncapi/operations';
import type { PostNotification } from '@makapix/contract/asyncapi/schemas';
import type { AppContext } from '../context.js';
import { outbox } from '../db/index.js';
import type { ClaimedMessage, FanoutStep } from '../db/outbox.js';
import type { NotificationChannel } from '../metrics/index.js';

const BATCH = 200;
const LEASE_SECONDS = 30;
/** Followers expanded per fan-out chunk (one INSERT ... SELECT each). */
const FANOUT_CHUNK = outbox.FANOUT_CHUNK;
/** Batches published between two fan-out chunks at most. */
const BATCHES_PER_ROUND = Math.ceil(FANOUT_CHUNK / BATCH);
const PUBLISH_TIMEOUT_MS = 10_000;
/** A row no channel accepts will not get better by retrying soon. */
const INVALID_ROW_RETRY_SECONDS = 24 * 3600;

/** One per notification channel: publishes (validated) when the row's topic is the channel's, else null. */
interface Route {
  channel: NotificationChannel;
  send(client: MqttClient, topic: string, payload: unknown): Promise<void> | null;
}
const ROUTES: Route[] = [
  {
    channel: postNew.id,
    send: (client, topic, payload) => {
      const params = postNewTopic.parse(topic);
      return params && publishPostNew(client, params, payload as PostNotification);
    },
  },
  {
    channel: postNewForFollower.id,
    send: (client, topic, payload) => {
      const params = postNewForFollowerTopic.parse(topic);
      return params && publishPostNewForFollower(client, params, payload as PostNotification);
    },
  },
  {
    channel: postNewInCategory.id,
    send: (client, topic, payload) => {
      const params = postNewInCategoryTopic.parse(topic);
      return params && publishPostNewInCategory(client, params, payload as PostNotification);
    },
  },
];

export interface OutboxPublisher {
  wake(): void;
  /** Resolves when nothing is being published (after the current drain). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

class InvalidRowError extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`publish not acknowledged within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export async function startOutboxPublisher(ctx: AppContext, opts: { pollSeconds: number }): Promise<OutboxPublisher> {
  let stopped = false;
  let again = false;
  let draining: Promise<void> | null = null;

  /** Publishes the row through its channel; resolves with the channel. */
  const publishRow = async (row: ClaimedMessage): Promise<NotificationChannel> => {
    for (const route of ROUTES) {
      let sent: Promise<void> | null;
      try {
        sent = route.send(ctx.mqtt, row.topic, row.payload);
      } catch (err) {
        // publish() validates synchronously inside an async function, but be safe either way.
        throw err instanceof PayloadValidationError ? new InvalidRowError(err.message) : err;
      }
      if (sent === null) continue;
      try {
        await withTimeout(sent, PUBLISH_TIMEOUT_MS);
      } catch (err) {
        throw err instanceof PayloadValidationError ? new InvalidRowError(err.message) : err;
      }
      return route.channel;
    }
    throw new InvalidRowError(`topic ${row.topic} is not a notification channel`);
  };

  const drainOnce = async (): Promise<number> => {
    if (!ctx.mqtt.connected) return 0;
    const rows = await outbox.claimBatch(ctx.sql, BATCH, { leaseSeconds: LEASE_SECONDS });
    if (rows.length === 0) return 0;
    const results = await Promise.allSettled(rows.map((r) => publishRow(r)));
    const published: number[] = [];
    const byChannel = new Map<NotificationChannel, number>();
    const invalid: { id: number; error: string }[] = [];
    const failed: { row: ClaimedMessage; error: string }[] = [];
    results.forEach((r, i) => {
      const row = rows[i]!;
      if (r.status === 'fulfilled') {
        published.push(row.id);
        byChannel.set(r.value, (byChannel.get(r.value) ?? 0) + 1);
      }
      else if (r.reason instanceof InvalidRowError) invalid.push({ id: row.id, error: r.reason.message });
      else failed.push({ row, error: r.reason instanceof Error ? r.reason.message : String(r.reason) });
    });
    await outbox.markPublished(ctx.sql, published);
    for (const [channel, n] of byChannel) ctx.metrics.notificationsPublished(channel, n);
    ctx.metrics.notificationFailures('parked', invalid.length);
    for (const { id, error } of invalid) {
      ctx.log.error({ outbox_id: id, error }, 'outbox row cannot be published; parked');
      await outbox.releaseForRetry(ctx.sql, [id], error, INVALID_ROW_RETRY_SECONDS);
    }
    if (failed.length > 0) {
      ctx.metrics.notificationFailures('retry', failed.length);
      ctx.log.warn({ rows: failed.length, error: failed[0]!.error }, 'outbox publish failed; will retry');
      // Exponential backoff by attempts: 5 s, 10 s, 20 s ... at most 5 minutes.
      const byDelay = new Map<number, number[]>();
      for (const { row } of failed) {
        const delay = Math.min(300, 5 * 2 ** Math.min(6, row.attempts - 1));
        byDelay.set(delay, [...(byDelay.get(delay) ?? []), row.id]);
      }
      for (const [delay, ids] of byDelay) await outbox.releaseForRetry(ctx.sql, ids, failed[0]!.error, delay);
    }
    return rows.length;
  };

  /** This publisher's name on the fan-out jobs it leases. */
  const owner = `publisher-${randomUUID()}`;

  /** Expands one chunk of one fan-out job. False when there is no job to work on (or it failed). */
  const expandOnce = async (): Promise<boolean> => {
    let step: FanoutStep | null;
    try {
      step = await outbox.expandFanout(ctx.sql, { owner, chunkSize: FANOUT_CHUNK, leaseSeconds: LEASE_SECONDS });
    } catch (err) {
      // Rolled back whole: the job is as it was, and the next wake-up (or another instance) retries.
      ctx.metrics.fanoutFailed();
      ctx.log.warn({ err }, 'expanding a fan-out job failed; will retry');
      return false;
    }
    if (!step) return false;
    if (step.error !== undefined) {
      ctx.metrics.fanoutFailed();
      ctx.log.warn({ job: step.jobId, post_id: step.postId, error: step.error }, 'a fan-out chunk failed; the job is set aside and retried later');
      return true; // other jobs go on
    }
    ctx.metrics.fanoutRows(step.inserted);
    if (step.done) ctx.log.debug({ job: step.jobId, post_id: step.postId }, 'fan-out job expanded');
    return true;
  };

  const drain = async (): Promise<void> => {
    do {
      again = false;
      for (;;) {
        if (stopped) return;
        const expanding = await expandOnce();
        let full = false;
        for (let i = 0; i < BATCHES_PER_ROUND && !stopped; i++) {
          full = (await drainOnce()) === BATCH;
          if (!full) break; // nothing more to publish now
        }
        if (!expanding && !full) break;
      }
    } while (again && !stopped);
  };

  const wake = (): void => {
    if (stopped) return;
    if (draining) {
      again = true;
      return;
    }
    draining = drain()
      .catch((err: unknown) => ctx.log.error({ err }, 'outbox publisher failed; the next wake-up retries'))
      .finally(() => {
        draining = null;
      });
  };

  const listener = await outbox.listenForOutbox(ctx.sql, wake);
  const poll = setInterval(wake, opts.pollSeconds * 1000);
  poll.unref();
  const onConnect = () => wake();
  ctx.mqtt.on('connect', onConnect);
  wake();

  return {
    wake,
    async idle() {
      while (draining) await draining;
    },
    async stop() {
      stopped = true;
      clearInterval(poll);
      ctx.mqtt.removeListener('connect', onConnect);
      await listener.unlisten().catch(() => {});
      while (draining) await draining;
      // Jobs this publisher was expanding go to the other instances now rather than after the lease.
      await outbox.releaseFanoutJobs(ctx.sql, owner).catch((err: unknown) => ctx.log.warn({ err }, 'releasing fan-out jobs failed'));
    },
  };
}
