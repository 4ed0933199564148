// Transactional outbox for MQTT notifications.
//
// A request that creates a post enqueues its notifications in the same transaction (so they exist
// if and only if the post does) and returns at once; publishers in any server instance claim
// batches, publish them, and mark them published. A claim is a lease: rows are picked with
// FOR UPDATE SKIP LOCKED, so concurrent claimers never get the same row, and stamped with
// `claimed_until`, so nobody else picks them until the lease runs out (a publisher that dies
// mid-batch only delays its rows). Delivery is therefore at-least-once.
// Enqueueing signals OUTBOX_CHANNEL (delivered at commit) to wake idle publishers.
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

/** Deletes rows published more than `maxAgeSeconds` ago (default 1 day). */
export async function purgePublished(sql: Queryable, maxAgeSeconds = 86_400): Promise<number> {
  const res = await sql`
    delete from outbox where published_at < now() - make_interval(secs => ${maxAgeSeconds})`;
  return res.count;
}

/** Calls `onWake` whenever rows are enqueued (postgres.js keeps one dedicated LISTEN connection). */
export function listenForOutbox(sql: Sql, onWake: () => void): Promise<postgres.ListenMeta> {
  return sql.listen(OUTBOX_CHANNEL, () => onWake());
}
