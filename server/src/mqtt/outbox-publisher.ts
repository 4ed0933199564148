// The notification publisher: claims outbox rows (FOR UPDATE SKIP LOCKED + a lease, so two
// instances never hold the same row), publishes each through the generated channel whose topic
// template parses the row's topic (the payload is validated on the way out), marks the
// published ones with one statement and gives failed ones back for a later retry.
// Woken by ctx.wakePublisher() (after an insert in this process), by LISTEN makapix_outbox
// (inserts anywhere), and by a slow poll (retries, expired leases, missed notifications).
//
// It also publishes fan-out jobs (a new post's one message per follower, db/outbox.ts), without
// writing a row per follower: it leases a job, reads the next chunk of followers (FANOUT_CHUNK,
// config.ts) straight from `follows`, publishes the chunk, waits until the broker has acknowledged
// every message of it (QoS as the generated postNewForFollower channel says: 1), and only then
// moves the job's cursor past the chunk (which also renews the lease). The payload is the same for
// every follower: it is checked against the channel's schema and serialized ONCE per job; the
// topics are the job's prefix + the follower's user_id + suffix, checked against the channel's
// template on the first and last follower of each chunk (the user ids come from a uuid column, so
// any one of them fits where another does). A chunk that fails (broker gone, no acknowledgement in
// time) leaves the cursor before it and the job is set aside for a few seconds: the chunk is then
// published again, so its followers may get the message twice (at-least-once), nobody else's.
// A job whose payload or topic parts the channel refuses is set aside for a day, like an invalid row.
// Each round of the drain publishes one chunk of the job this publisher holds, then about a
// chunk's worth of outbox rows, so neither kind holds the other up for long. A job leased here is
// published by this instance only (other instances take other jobs); a stopping publisher gives
// its jobs back, and one that dies leaves them to whoever comes after the lease runs out.
//
// Where the time went before (a 20,000-follower post, one instance, ~2.3-3 s): PostgreSQL writing
// 20,000 outbox rows, claiming them 200 at a time and marking them published (~60 %), then per-row
// topic parsing, validation and JSON serialization (~10 %), and waiting on acknowledgements
// 200 at a time; the broker itself used ~0.3 s of CPU. Now (server/bench/fanout.ts, same machine):
// 0.54-0.70 s when the machine is quiet, PostgreSQL ~0.1 s of CPU per post; what remains is
// mqtt.js's own per-publish work (~25 us of CPU per QoS 1 message) and the broker's.
import { randomUUID } from 'node:crypto';
import type { IClientPublishOptions, MqttClient } from 'mqtt';
import { PayloadValidationError } from '#runtime/v1';
import { postNew, postNewForFollower, postNewForFollowerTopic, postNewInCategory, postNewInCategoryTopic, postNewTopic } from '@makapix/contract/asyncapi/channels';
import { publishPostNew, publishPostNewForFollower, publishPostNewInCategory } from '@makapix/contract/asyncapi/operations';
import type { PostNotification } from '@makapix/contract/asyncapi/schemas';
import type { AppContext } from '../context.js';
import { outbox } from '../db/index.js';
import type { ClaimedMessage, FanoutFollower, LeasedFanoutJob } from '../db/outbox.js';
import type { NotificationChannel } from '../metrics/index.js';

const BATCH = 200;
const LEASE_SECONDS = 30;
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

/** A leased fan-out job, ready to publish: its payload checked and serialized once. */
interface ActiveJob {
  job: LeasedFanoutJob;
  bytes: Buffer;
  /** The next chunk, read while the previous one was being acknowledged. */
  next?: Promise<FanoutFollower[]>;
}

/** Messages handed to mqtt.js between two turns of the event loop, so acknowledgements are read meanwhile. */
const FANOUT_SLICE = 250;

/**
 * Publishes `bytes` on every topic and resolves once the broker has acknowledged them all, or with
 * the first error (a failed publish, or no acknowledgement of them all within `timeoutMs`).
 * Publishes in slices of FANOUT_SLICE with a turn of the event loop between, so that the broker
 * starts on the first ones and the acknowledgements are handled while the rest are still sent.
 */
function publishAll(client: MqttClient, topics: readonly string[], bytes: Buffer, options: IClientPublishOptions, timeoutMs: number): Promise<{ acked: number; error?: string }> {
  return new Promise((resolve) => {
    let acked = 0;
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(error === undefined ? { acked } : { acked, error });
    };
    const timer = setTimeout(() => finish(`publish not acknowledged within ${timeoutMs} ms (${acked} of ${topics.length} were)`), timeoutMs);
    const done = (err?: Error) => {
      if (err) finish(err.message);
      else if (++acked === topics.length) finish();
    };
    if (topics.length === 0) return finish();
    let i = 0;
    const sendSlice = () => {
      if (settled) return;
      const end = Math.min(topics.length, i + FANOUT_SLICE);
      for (; i < end; i++) client.publish(topics[i]!, bytes, options, done);
      if (i < topics.length) setImmediate(sendSlice);
    };
    sendSlice();
  });
}

/** The job's payload serialized, or why the postNewForFollower channel refuses it. */
function prepareJob(job: LeasedFanoutJob): ActiveJob | string {
  const payload = postNewForFollower.message.checked(job.payload);
  if (payload === undefined) return `payload refused by ${postNewForFollower.id}: ${postNewForFollower.message.explain(job.payload)}`;
  return { job, bytes: Buffer.from(JSON.stringify(payload)) };
}

/** Null when the follower's topic is one of the channel's for the job's post, else why not. */
function checkFollowerTopic(job: LeasedFanoutJob, follower: FanoutFollower): string | null {
  const topic = `${job.topicPrefix}${follower.userId}${job.topicSuffix}`;
  const params = postNewForFollowerTopic.parse(topic);
  if (params?.follower_id === follower.userId && params.post_id === job.postId) return null;
  return `topic ${topic} is not ${postNewForFollowerTopic.address} for follower ${follower.userId} and post ${job.postId}`;
}

export interface OutboxPublisherOptions {
  pollSeconds: number;
  /** Followers per fan-out chunk (default outbox.FANOUT_CHUNK). */
  fanoutChunk?: number;
  /** Lease of a fan-out job, renewed at every chunk (default 30 s; longer than PUBLISH_TIMEOUT_MS, so a chunk ends within its lease). */
  fanoutLeaseSeconds?: number;
}

export async function startOutboxPublisher(ctx: AppContext, opts: OutboxPublisherOptions): Promise<OutboxPublisher> {
  const fanoutChunk = opts.fanoutChunk ?? outbox.FANOUT_CHUNK;
  const fanoutLease = opts.fanoutLeaseSeconds ?? LEASE_SECONDS;
  if (!Number.isInteger(fanoutChunk) || fanoutChunk < 1) throw new RangeError(`fan-out chunk size must be a positive integer (got ${fanoutChunk})`);
  if (!(fanoutLease * 1000 > PUBLISH_TIMEOUT_MS)) {
    throw new RangeError(`fan-out lease must be longer than the ${PUBLISH_TIMEOUT_MS} ms a chunk may take (got ${fanoutLease} s)`);
  }
  /** Outbox batches published between two fan-out chunks at most. */
  const batchesPerRound = Math.max(1, Math.ceil(fanoutChunk / BATCH));
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

  const followerOptions: IClientPublishOptions = { qos: postNewForFollower.qos, retain: postNewForFollower.retain };
  /** The fan-out job this publisher holds, between two chunks. */
  let active: ActiveJob | null = null;

  const setAside = async (job: LeasedFanoutJob, delaySeconds: number): Promise<void> => {
    active = null;
    await outbox.parkFanoutJob(ctx.sql, { id: job.id, owner, delaySeconds })
      .catch((err: unknown) => ctx.log.warn({ err, job: job.id }, 'setting a fan-out job aside failed; its lease runs out instead'));
  };

  /**
   * Publishes the next chunk of the fan-out job this publisher holds (leasing one first if it holds
   * none). False when there is no job to work on now.
   */
  const fanoutOnce = async (): Promise<boolean> => {
    if (!ctx.mqtt.connected) return false;
    if (active === null) {
      const job = await outbox.leaseFanoutJob(ctx.sql, { owner, leaseSeconds: fanoutLease });
      if (!job) return false;
      const prepared = prepareJob(job);
      if (typeof prepared === 'string') {
        ctx.metrics.fanoutFailed();
        ctx.log.error({ job: job.id, post_id: job.postId, error: prepared }, 'fan-out job cannot be published; set aside');
        await setAside(job, INVALID_ROW_RETRY_SECONDS);
        return true;
      }
      active = prepared;
    }
    const { job, bytes } = active;
    const followers = await (active.next ?? outbox.fanoutFollowers(ctx.sql, job, fanoutChunk));
    if (followers.length > 0) {
      const wrong = checkFollowerTopic(job, followers[0]!) ?? checkFollowerTopic(job, followers.at(-1)!);
      if (wrong !== null) {
        ctx.metrics.fanoutFailed();
        ctx.log.error({ job: job.id, post_id: job.postId, error: wrong }, 'fan-out job cannot be published; set aside');
        await setAside(job, INVALID_ROW_RETRY_SECONDS);
        return true;
      }
    }
    const { topicPrefix, topicSuffix } = job;
    const topics = followers.map((f) => `${topicPrefix}${f.userId}${topicSuffix}`);
    const sending = publishAll(ctx.mqtt, topics, bytes, followerOptions, PUBLISH_TIMEOUT_MS);
    // While the broker acknowledges this chunk, read the next one (a full chunk may not be the last).
    const next = followers.length === fanoutChunk
      ? outbox.fanoutFollowers(ctx.sql, { followeeId: job.followeeId, afterFollowerId: followers.at(-1)!.followerId }, fanoutChunk)
      : undefined;
    next?.catch(() => {}); // awaited by the next round, or dropped with the job
    const { acked, error } = await sending;
    // Acknowledged messages are published, whatever becomes of the rest of the chunk.
    ctx.metrics.notificationsPublished(postNewForFollower.id, acked);
    if (error !== undefined) {
      ctx.metrics.fanoutFailed();
      ctx.metrics.notificationFailures('retry', followers.length - acked);
      ctx.log.warn({ job: job.id, post_id: job.postId, followers: followers.length, acked, error }, 'publishing a fan-out chunk failed; the chunk is published again later');
      await setAside(job, outbox.FANOUT_RETRY_SECONDS);
      return true;
    }
    const finished = followers.length < fanoutChunk;
    const to = followers.at(-1)?.followerId ?? job.afterFollowerId;
    const held = await outbox.advanceFanoutJob(ctx.sql, {
      id: job.id, owner, from: job.afterFollowerId, to, count: followers.length, finished, leaseSeconds: fanoutLease,
    });
    ctx.metrics.fanoutRows(followers.length);
    if (!held) {
      // The lease ran out and someone else resumed the job (this chunk was published twice, at most).
      ctx.log.warn({ job: job.id, post_id: job.postId }, 'fan-out job taken over by another publisher; leaving it');
      active = null;
      return true;
    }
    if (finished) {
      ctx.log.debug({ job: job.id, post_id: job.postId, followers: job.done + followers.length }, 'fan-out job published');
      active = null;
    } else {
      active = { bytes, job: { ...job, afterFollowerId: to, done: job.done + followers.length }, ...(next ? { next } : {}) };
    }
    return true;
  };

  const drain = async (): Promise<void> => {
    do {
      again = false;
      for (;;) {
        if (stopped) return;
        let fanning: boolean;
        try {
          fanning = await fanoutOnce();
        } catch (err) {
          // A database error between chunks: the job keeps its cursor; its lease lets this
          // publisher (next wake-up) or another one (after the lease) resume it.
          active = null;
          ctx.metrics.fanoutFailed();
          ctx.log.warn({ err }, 'a fan-out chunk failed; will retry');
          fanning = false;
        }
        let full = false;
        for (let i = 0; i < batchesPerRound && !stopped; i++) {
          full = (await drainOnce()) === BATCH;
          if (!full) break; // nothing more to publish now
        }
        if (!fanning && !full) break;
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
      // Jobs this publisher was publishing go to the other instances now rather than after the lease.
      await outbox.releaseFanoutJobs(ctx.sql, owner).catch((err: unknown) => ctx.log.warn({ err }, 'releasing fan-out jobs failed'));
    },
  };
}
