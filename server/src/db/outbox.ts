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
// payload); publishers expand jobs into outbox rows in chunks, see expandFanoutChunk.
import type postgres from 'postgres';
import type { Queryable, Sql, Tx } from './client.js';

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

export interface FollowerFanoutJob {
  postId: number;
  /** users.id of the user whose followers get a row each. */
  followeeId: number;
  /** Each follower's topic is topicPrefix + the follower's public user_id (UUID) + topicSuffix. */
  topicPrefix: string;
  topicSuffix: string;
  /** Any JSON value; every follower's row gets a copy. */
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

/** One chunk of one job, as done by expandFanoutChunk. */
export interface FanoutStep {
  jobId: number;
  postId: number;
  /** Outbox rows written by this chunk. */
  inserted: number;
  /** The job has no followers left (it is marked done). */
  done: boolean;
  /** The chunk failed: it was rolled back and the job set aside for FANOUT_RETRY_SECONDS. */
  error?: string;
}

/** How long a job whose chunk failed is left alone, so that newer jobs are not held up behind it. */
export const FANOUT_RETRY_SECONDS = 60;
/** The claimed_by of a job set aside after a failed chunk (no publisher has this name). */
export const FANOUT_PARKED = 'parked after a failed chunk';

/** Followers per chunk: one INSERT ... SELECT of this many rows per transaction. */
export const FANOUT_CHUNK = 1000;

/**
 * Expands the next chunk of one fan-out job. Must run inside a transaction (sql.begin), which
 * commits the chunk's outbox rows together with the job's progress; expandFanout does that.
 *
 * The job is the oldest unfinished one that is not leased to someone else (its lease is free, has
 * run out, or is `owner`'s own), locked FOR UPDATE SKIP LOCKED, so two claimers never expand the
 * same job at once. The chunk takes the next `chunkSize` followers after the job's progress
 * (keyset on follows.follower_id) and writes their rows with one INSERT ... SELECT; the job then
 * moves past them, is leased to `owner` for `leaseSeconds` more, and is marked done when the chunk
 * came out short. An instance that dies between chunks leaves a consistent job that another
 * instance resumes when the lease runs out; one that dies inside a chunk rolls the chunk back.
 * Neither duplicates nor skips a follower.
 *
 * Who gets a row: the users following the followee when their chunk is expanded (not when the job
 * was queued). Someone who follows in between may get the notification, someone who unfollows in
 * between may not; a follower whose id is behind the progress when they follow gets nothing.
 *
 * Returns null when there is no job to expand. Signals OUTBOX_CHANNEL when rows were written.
 */
export async function expandFanoutChunk(
  tx: Tx,
  opts: { owner: string; chunkSize?: number; leaseSeconds?: number; retrySeconds?: number },
): Promise<FanoutStep | null> {
  const chunk = opts.chunkSize ?? FANOUT_CHUNK;
  const lease = opts.leaseSeconds ?? 30;
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`fan-out chunk size must be a positive integer (got ${chunk})`);
  if (opts.owner.length === 0) throw new TypeError('fan-out owner must be a non-empty string');
  // SKIP LOCKED never waits: a job in someone else's open chunk is passed over. The row returned is
  // the newest committed version (its progress included) and stays locked until this commits.
  const [job] = await tx<{ id: number; post_id: number; followee_id: number; after_follower_id: number }[]>`
    select id, post_id, followee_id, after_follower_id
    from outbox_fanout
    where done_at is null and (claimed_until is null or claimed_until < now() or claimed_by = ${opts.owner})
    order by id
    limit 1
    for update skip locked`;
  if (!job) return null;
  // The chunk runs in a savepoint: when it fails, it is undone, the job (still locked) is set aside
  // for a while, and the caller goes on with other jobs instead of retrying this one first forever.
  try {
    return await tx.savepoint((sp) => expandLockedJob(sp, job, chunk, opts.owner, lease));
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    await tx`
      update outbox_fanout set claimed_by = ${FANOUT_PARKED}, claimed_until = now() + make_interval(secs => ${opts.retrySeconds ?? FANOUT_RETRY_SECONDS})
      where id = ${job.id}`;
    return { jobId: job.id, postId: job.post_id, inserted: 0, done: false, error };
  }
}

async function expandLockedJob(
  tx: Queryable,
  job: { id: number; post_id: number; followee_id: number; after_follower_id: number },
  chunk: number,
  owner: string,
  lease: number,
): Promise<FanoutStep> {
  const [got] = await tx<{ n: number; last: number | null }[]>`
    with chunk as (
      select f.follower_id, u.user_id
      from follows f join users u on u.id = f.follower_id
      where f.followee_id = ${job.followee_id} and f.follower_id > ${job.after_follower_id}
      order by f.follower_id
      limit ${chunk}
    ),
    ins as (
      insert into outbox (topic, payload)
      select j.topic_prefix || c.user_id::text || j.topic_suffix, j.payload
      from chunk c cross join outbox_fanout j
      where j.id = ${job.id}
      order by c.follower_id
      returning 1
    )
    select (select count(*) from ins) as n, (select max(follower_id) from chunk) as last`;
  const inserted = got!.n;
  const done = inserted < chunk;
  await tx`
    update outbox_fanout set
      after_follower_id = ${got!.last ?? job.after_follower_id},
      expanded = expanded + ${inserted},
      done_at = case when ${done}::boolean then now() end,
      claimed_by = case when ${done}::boolean then null else ${owner}::text end,
      claimed_until = case when ${done}::boolean then null else now() + make_interval(secs => ${lease}) end
    where id = ${job.id}`;
  if (inserted > 0) await tx`select pg_notify(${OUTBOX_CHANNEL}, '')`;
  return { jobId: job.id, postId: job.post_id, inserted, done };
}

/** expandFanoutChunk in a transaction of its own. */
export function expandFanout(sql: Sql, opts: { owner: string; chunkSize?: number; leaseSeconds?: number; retrySeconds?: number }): Promise<FanoutStep | null> {
  return sql.begin((tx) => expandFanoutChunk(tx, opts));
}

/** Gives up `owner`'s leases on unfinished jobs (a stopping publisher), so others resume them at once. */
export async function releaseFanoutJobs(sql: Queryable, owner: string): Promise<number> {
  const res = await sql`
    update outbox_fanout set claimed_by = null, claimed_until = null
    where claimed_by = ${owner} and done_at is null`;
  return res.count;
}

/** Number of fan-out jobs not yet fully expanded. */
export async function pendingFanoutCount(sql: Queryable): Promise<number> {
  const [row] = await sql<{ n: number }[]>`select count(*) as n from outbox_fanout where done_at is null`;
  return row!.n;
}
