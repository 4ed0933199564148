// Transactional outbox for MQTT notifications.
//
// A request that creates a post enqueues its notifications in the same transaction (so they exist
// if and only if the post does) and returns at once; publishers in any server instance claim
// batches, publish them, and mark them published. A claim is a lease: rows are picked with
// FOR UPDATE SKIP LOCKED, so concurrent claimers never get the same row, and stamped with
// `claimed_until`, so nobody else picks them until the lease runs out (a publisher that dies
// mid-batch only delays its rows). Delivery is therefore at-least-once.
// Enqueueing signals OUTBOX_CHANNEL (delivered at commit) to wake idle publishers.
//
// Fan-out jobs (table outbox_fanout, migration 0005): a message for every follower of a user is
// not written by the request that causes it. The request writes one job (followee, topic parts,
// payload). A publisher leases the job (leaseFanoutJob), reads the next chunk of followers
// straight from `follows` after the job's cursor (fanoutFollowers), publishes the chunk, and only
// once the broker has acknowledged every message of it moves the cursor (advanceFanoutJob). The
// job never becomes one outbox row per follower (until 2026-12 it did: writing, claiming and
// marking 20,000 rows was most of the time a 20,000-follower post took; see the fan-out section below).
import type postgres from 'postgres';
import type { Queryable, Sql } from './client.js';

/** LISTEN/NOTIFY channel that wakes publishers when rows are enqueued. */
export const OUTBOX_CHANNEL = 'makapix_outbox';

export interface OutboxMessage {
  topic: string;
  /** Any JSON value (objects, arrays, strings, numbers, booleans, null). */
  payload: unknown;
}

export interface ClaimedMessage {
  id: number;
  topic: string;
  payload: unknown;
  /** Number of claims so far, including this one. */
  attempts: number;
  createdAt: Date;
}

/** Inserts all rows with one statement and signals OUTBOX_CHANNEL. Returns the new ids in input order. */
export async function enqueue(tx: Queryable, rows: readonly OutboxMessage[]): Promise<number[]> {
  if (rows.length === 0) return [];
  for (const r of rows) {
    if (typeof r.topic !== 'string' || r.topic.length === 0) throw new TypeError('outbox topic must be a non-empty string');
    if (r.payload === undefined) throw new TypeError(`outbox payload for ${r.topic} is undefined`);
  }
  const doc = rows.map((r) => ({ topic: r.topic, payload: r.payload })) as postgres.JSONValue;
  const inserted = await tx<{ id: number }[]>`
    with ins as (
      insert into outbox (topic, payload)
      select e.value ->> 'topic', e.value -> 'payload'
      from jsonb_array_elements(${tx.json(doc)}) with ordinality as e(value, n)
      order by e.n
      returning id
    ),
    wake as (select pg_notify(${OUTBOX_CHANNEL}, '') as done)
    select ins.id from ins cross join wake order by ins.id`;
  return inserted.map((r) => r.id);
}

/**
 * Claims up to `n` unpublished rows whose lease is free (oldest first) for `leaseSeconds`
 * (default 30). One statement; safe to run from many instances at once. Returns them by id.
 */
export async function claimBatch(sql: Queryable, n: number, opts: { leaseSeconds?: number } = {}): Promise<ClaimedMessage[]> {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`claimBatch size must be a positive integer (got ${n})`);
  const lease = opts.leaseSeconds ?? 30;
  const rows = await sql<{ id: number; topic: string; payload: unknown; attempts: number; created_at: Date }[]>`
    with picked as (
      select id from outbox
      where published_at is null and (claimed_until is null or claimed_until < now())
      order by id
      limit ${n}
      for update skip locked
    )
    update outbox o
    set claimed_until = now() + make_interval(secs => ${lease}), attempts = o.attempts + 1
    from picked
    where o.id = picked.id
    returning o.id, o.topic, o.payload, o.attempts, o.created_at`;
  return rows
    .map((r) => ({ id: r.id, topic: r.topic, payload: r.payload, attempts: r.attempts, createdAt: r.created_at }))
    .sort((a, b) => a.id - b.id);
}

/** Marks rows published (idempotent). Returns how many changed. */
export async function markPublished(sql: Queryable, ids: readonly number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const res = await sql`
    update outbox set published_at = now(), claimed_until = null, last_error = null
    where id = any(${ids.map(String)}::bigint[]) and published_at is null`;
  return res.count;
}

/** Gives claimed rows back after a failed publish: they can be claimed again after `delaySeconds`. */
export async function releaseForRetry(sql: Queryable, ids: readonly number[], error: string, delaySeconds = 5): Promise<number> {
  if (ids.length === 0) return 0;
  const res = await sql`
    update outbox
    set claimed_until = now() + make_interval(secs => ${delaySeconds}), last_error = ${error.slice(0, 1000)}
    where id = any(${ids.map(String)}::bigint[]) and published_at is null`;
  return res.count;
}

/** Number of rows waiting to be published. */
export async function pendingCount(sql: Queryable): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*) as n from outbox where published_at is null`;
  return row!.n;
}

/**
 * Deletes rows published, and fan-out jobs finished, more than `maxAgeSeconds` ago (default 1 day).
 * Returns how many were deleted (outbox rows and jobs together).
 */
export async function purgePublished(sql: Queryable, maxAgeSeconds = 86_400): Promise<number> {
  const [row] = await sql<{ rows: number; jobs: number }[]>`
    with rows as (
      delete from outbox where published_at < now() - make_interval(secs => ${maxAgeSeconds}) returning 1
    ),
    jobs as (
      delete from outbox_fanout where done_at < now() - make_interval(secs => ${maxAgeSeconds}) returning 1
    )
    select (select count(*) from rows) as rows, (select count(*) from jobs) as jobs`;
  return row!.rows + row!.jobs;
}

/** Calls `onWake` whenever rows are enqueued (postgres.js keeps one dedicated LISTEN connection). */
export function listenForOutbox(sql: Sql, onWake: () => void): Promise<postgres.ListenMeta> {
  return sql.listen(OUTBOX_CHANNEL, () => onWake());
}

// ------------------------------------------------------------------------------ fan-out jobs
//
// A job is published directly from `follows`, a chunk at a time, by the publisher that holds its
// lease (claimed_by, claimed_until):
//   1. leaseFanoutJob: the oldest unfinished job whose lease is free (or has run out, or is the
//      caller's own) is stamped with the caller's name and a lease, in one statement
//      (FOR UPDATE SKIP LOCKED, so two callers never get the same job);
//   2. fanoutFollowers: the next chunk of followers after the job's cursor (keyset on
//      follows.follower_id), with their public user ids;
//   3. the caller publishes the chunk (QoS 1) and waits for every acknowledgement;
//   4. advanceFanoutJob: moves the cursor past the chunk and renews the lease, only if the caller
//      still holds it and nobody moved the cursor meanwhile (compare-and-set); a short chunk
//      finishes the job.
// Delivery stays at-least-once: a publisher that dies or fails inside a chunk leaves the cursor
// before that chunk, and whoever resumes the job (the same publisher after a pause, or another
// once the lease runs out) publishes the whole chunk again, so followers of that one chunk may get
// the message twice; no follower before the cursor gets it again and none after it is skipped.
// While a lease holds, nobody else publishes the job. A publisher whose lease ran out and was
// taken over notices at step 4 (the compare-and-set fails) and leaves the job to the new holder.
//
// Who gets the message: the users following the followee when their chunk is read (not when the
// job was queued). Someone who follows in between may get the notification, someone who unfollows
// in between may not; a follower whose id is behind the cursor when they follow gets nothing.
// Messages have no order among followers.
//
// Jobs queued before this scheme (whose first followers became outbox rows) carry on from their
// cursor: the rows already written are published as ordinary outbox rows.

export interface FollowerFanoutJob {
  postId: number;
  /** users.id of the user whose followers get a message each. */
  followeeId: number;
  /** Each follower's topic is topicPrefix + the follower's public user_id (UUID) + topicSuffix. */
  topicPrefix: string;
  topicSuffix: string;
  /** Any JSON value; every follower gets this same payload. */
  payload: unknown;
}

/**
 * Queues a fan-out job (one row, whatever the number of followers) and signals OUTBOX_CHANNEL.
 * Writes nothing when the followee has no followers now. Returns the job id, or null.
 */
export async function enqueueFollowerFanout(tx: Queryable, job: FollowerFanoutJob): Promise<number | null> {
  if (job.payload === undefined) throw new TypeError(`fan-out payload for post ${job.postId} is undefined`);
  const [row] = await tx<{ id: number }[]>`
    with ins as (
      insert into outbox_fanout (post_id, followee_id, topic_prefix, topic_suffix, payload)
      select ${job.postId}, ${job.followeeId}, ${job.topicPrefix}, ${job.topicSuffix}, ${tx.json(job.payload as postgres.JSONValue)}
      where exists (select 1 from follows where followee_id = ${job.followeeId})
      returning id
    )
    select ins.id, pg_notify(${OUTBOX_CHANNEL}, '') from ins`;
  return row?.id ?? null;
}

/** A job as leased by leaseFanoutJob. */
export interface LeasedFanoutJob extends FollowerFanoutJob {
  id: number;
  /** The cursor: followers with follows.follower_id <= this one are done. */
  afterFollowerId: number;
  /** Followers done so far (published, or, for a job queued before 2026-12, written as outbox rows). */
  done: number;
}

/** A follower of a chunk: follows.follower_id (the cursor's key) and the public user_id of the topic. */
export interface FanoutFollower {
  followerId: number;
  userId: string;
}

/** How long a job whose chunk could not be published is left alone (the first retry; publishers back off). */
export const FANOUT_RETRY_SECONDS = 5;
/** The claimed_by of a job set aside after a failed chunk (no publisher has this name). */
export const FANOUT_PARKED = 'parked after a failed chunk';

/** Followers per chunk when the caller does not say (the server's FANOUT_CHUNK setting does). */
export const FANOUT_CHUNK = 5000;

/**
 * Leases the oldest unfinished job that is not leased to someone else (its lease is free, has run
 * out, or is `owner`'s own) to `owner` for `leaseSeconds` (default 30). One statement; the job row
 * is picked FOR UPDATE SKIP LOCKED, so concurrent callers never lease the same job. Null: no job.
 */
export async function leaseFanoutJob(sql: Queryable, opts: { owner: string; leaseSeconds?: number }): Promise<LeasedFanoutJob | null> {
  if (opts.owner.length === 0) throw new TypeError('fan-out owner must be a non-empty string');
  const lease = opts.leaseSeconds ?? 30;
  const [job] = await sql<{
    id: number; post_id: number; followee_id: number; topic_prefix: string; topic_suffix: string; payload: unknown;
    after_follower_id: number; expanded: number;
  }[]>`
    with picked as (
      select id from outbox_fanout
      where done_at is null and (claimed_until is null or claimed_until < now() or claimed_by = ${opts.owner})
      order by id
      limit 1
      for update skip locked
    )
    update outbox_fanout j
    set claimed_by = ${opts.owner}, claimed_until = now() + make_interval(secs => ${lease})
    from picked
    where j.id = picked.id
    returning j.id, j.post_id, j.followee_id, j.topic_prefix, j.topic_suffix, j.payload, j.after_follower_id, j.expanded`;
  if (!job) return null;
  return {
    id: job.id, postId: job.post_id, followeeId: job.followee_id, topicPrefix: job.topic_prefix, topicSuffix: job.topic_suffix,
    payload: job.payload, afterFollowerId: job.after_follower_id, done: job.expanded,
  };
}

/**
 * The next `limit` followers of the job's followee after `afterFollowerId`, by follows.follower_id
 * (the index follows_followee_idx serves the keyset). Fewer than `limit`: these are the last ones.
 */
export async function fanoutFollowers(
  sql: Queryable,
  job: { followeeId: number; afterFollowerId: number },
  limit: number,
): Promise<FanoutFollower[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`fan-out chunk size must be a positive integer (got ${limit})`);
  // Two arrays instead of `limit` rows: one row to parse, whatever the chunk size.
  const [got] = await sql<{ ids: string[] | null; user_ids: string[] | null }[]>`
    select array_agg(c.follower_id::text order by c.follower_id) as ids, array_agg(c.user_id::text order by c.follower_id) as user_ids
    from (
      select f.follower_id, u.user_id
      from follows f join users u on u.id = f.follower_id
      where f.followee_id = ${job.followeeId} and f.follower_id > ${job.afterFollowerId}
      order by f.follower_id
      limit ${limit}
    ) c`;
  const ids = got?.ids ?? [];
  const userIds = got?.user_ids ?? [];
  return ids.map((id, i) => ({ followerId: Number(id), userId: userIds[i]! }));
}

/**
 * Moves the job's cursor from `from` to `to` after `count` more followers were published, and
 * renews `owner`'s lease for `leaseSeconds` (default 30); `finished` marks the job done and frees
 * it. Does nothing, and returns false, when `owner` no longer holds the job or its cursor is not at
 * `from` any more (someone took it over after the lease ran out): the caller must leave the job.
 */
export async function advanceFanoutJob(
  sql: Queryable,
  opts: { id: number; owner: string; from: number; to: number; count: number; finished: boolean; leaseSeconds?: number },
): Promise<boolean> {
  const lease = opts.leaseSeconds ?? 30;
  const res = await sql`
    update outbox_fanout set
      after_follower_id = ${opts.to},
      expanded = expanded + ${opts.count},
      done_at = case when ${opts.finished}::boolean then now() end,
      claimed_by = case when ${opts.finished}::boolean then null else ${opts.owner}::text end,
      claimed_until = case when ${opts.finished}::boolean then null else now() + make_interval(secs => ${lease}) end
    where id = ${opts.id} and claimed_by = ${opts.owner} and after_follower_id = ${opts.from} and done_at is null`;
  return res.count === 1;
}

/**
 * Sets `owner`'s job aside for `delaySeconds` after a chunk could not be published (its cursor
 * stays where it was: the chunk is published again then, by any publisher). False when `owner` did
 * not hold the job any more.
 */
export async function parkFanoutJob(sql: Queryable, opts: { id: number; owner: string; delaySeconds: number }): Promise<boolean> {
  const res = await sql`
    update outbox_fanout set claimed_by = ${FANOUT_PARKED}, claimed_until = now() + make_interval(secs => ${opts.delaySeconds})
    where id = ${opts.id} and claimed_by = ${opts.owner} and done_at is null`;
  return res.count === 1;
}

/** Gives up `owner`'s leases on unfinished jobs (a stopping publisher), so others resume them at once. */
export async function releaseFanoutJobs(sql: Queryable, owner: string): Promise<number> {
  const res = await sql`
    update outbox_fanout set claimed_by = null, claimed_until = null
    where claimed_by = ${owner} and done_at is null`;
  return res.count;
}

/** Number of fan-out jobs not yet finished. */
export async function pendingFanoutCount(sql: Queryable): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*) as n from outbox_fanout where done_at is null`;
  return row!.n;
}
