// Fixed-window rate limits shared by every server instance (counters live in PostgreSQL).
//
// `hit` checks and counts several limits (e.g. the player's and its owner's) in ONE statement:
//  - a hit is allowed only when every key is below its limit;
//  - an allowed hit adds 1 to every key; a refused hit adds nothing, so a player hammering past
//    its own limit does not use up its owner's budget;
//  - no counter ever exceeds its limit, whatever the concurrency (the ON CONFLICT ... WHERE guard
//    is evaluated on the locked, latest row). Under a race at the very edge of a limit a refused
//    hit may still have counted on another of its keys; it never lets an extra hit through.
// The window is aligned on the database clock (epoch multiples of windowSeconds, counted from
// originSeconds, 0 unless configured), so all instances agree on it. Call it on the pool, not inside a long transaction: the counter rows
// stay locked until the surrounding transaction ends.
import type { Queryable } from './client.js';

export interface RateLimitKey {
  key: string;
  /** Allowed hits per window (>= 1). */
  limit: number;
}

export interface RateLimitResult {
  allowed: boolean;
  /** Seconds until the current window ends (>= 1); what Retry-After should say when refused. */
  retryAfterSeconds: number;
  /** Count per key in the current window, after this hit. */
  counts: Record<string, number>;
  /** The keys whose limit refused the hit (empty when allowed). */
  exceeded: string[];
}

interface Row {
  key: string;
  lim: number;
  count: number;
  counted: boolean;
  retry_after: number;
}

export async function hit(sql: Queryable, keys: RateLimitKey[], windowSeconds = 60, originSeconds = 0): Promise<RateLimitResult> {
  if (!Number.isInteger(windowSeconds) || windowSeconds < 1 || windowSeconds > 86_400) {
    throw new RangeError(`rate limit window must be an integer number of seconds in 1..86400 (got ${windowSeconds})`);
  }
  checkOrigin(originSeconds);
  // One entry per key (an upsert cannot touch the same row twice); the strictest limit wins.
  const byKey = new Map<string, number>();
  for (const { key, limit } of keys) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`rate limit for ${key} must be a positive integer (got ${limit})`);
    byKey.set(key, Math.min(limit, byKey.get(key) ?? Infinity));
  }
  if (byKey.size === 0) return { allowed: true, retryAfterSeconds: 0, counts: {}, exceeded: [] };
  const names = [...byKey.keys()];
  const limits = names.map((k) => byKey.get(k)!);

  const rows = await sql<Row[]>`
    with clock as materialized (select clock_timestamp() as now),
    win as materialized (
      select clock.now, to_timestamp(${originSeconds}::numeric + floor((extract(epoch from clock.now) - ${originSeconds}::numeric) / ${windowSeconds}) * ${windowSeconds}) as start
      from clock
    ),
    req as (
      select k.key, k.lim from unnest(${names}::text[], ${limits}::int[]) as k(key, lim)
    ),
    cur as (
      select req.key, req.lim, coalesce(c.count, 0) as count
      from req cross join win
      left join rate_limit_counters c on c.key = req.key and c.window_start = win.start
    ),
    inc as (
      insert into rate_limit_counters as c (key, window_start, count, expires_at)
      select cur.key, win.start, 1, win.start + make_interval(secs => ${windowSeconds})
      from cur cross join win
      where not exists (select 1 from cur where cur.count >= cur.lim)
      on conflict (key, window_start) do update
        set count = c.count + 1
        where c.count < (select req.lim from req where req.key = excluded.key)
      returning c.key, c.count
    )
    select cur.key, cur.lim,
           coalesce(inc.count, cur.count) as count,
           inc.key is not null as counted,
           greatest(1, ceil(extract(epoch from (win.start + make_interval(secs => ${windowSeconds}) - win.now))))::int as retry_after
    from cur cross join win
    left join inc on inc.key = cur.key`;

  const counts: Record<string, number> = {};
  const exceeded: string[] = [];
  let allCounted = true;
  for (const r of rows) {
    counts[r.key] = r.count;
    if (!r.counted) {
      allCounted = false;
      if (r.count >= r.lim) exceeded.push(r.key);
    }
  }
  const allowed = allCounted && rows.length === names.length;
  if (!allowed && exceeded.length === 0) {
    // Lost a race at the edge of a limit: name the keys that did not count.
    for (const r of rows) if (!r.counted) exceeded.push(r.key);
  }
  return { allowed, retryAfterSeconds: rows[0]?.retry_after ?? windowSeconds, counts, exceeded: allowed ? [] : exceeded };
}

export interface BatchEntry {
  key: string;
  /** Allowed hits per window (>= 1). */
  limit: number;
  /** Hits asked for by this batch (>= 1). */
  n: number;
}

export interface BatchResult {
  /** Hits of this batch that fitted under the limit, per key (the first `granted` of the batch's hits). */
  granted: Map<string, number>;
  /** Count per key after this batch. */
  counts: Map<string, number>;
  /** Start of the window the hits were counted in (for refunds). */
  windowStart: Date;
  retryAfterSeconds: number;
  /** Milliseconds left in that window by the database clock (for grants kept locally until then). */
  msLeft: number;
}

/**
 * Adds many hits per key in ONE statement, never past a key's limit, and says how many fitted.
 * This is what a busy server uses: hits arriving together are summed per key, so a hot key (a user
 * with many players) is updated once per batch instead of once per request.
 */
export async function hitBatch(sql: Queryable, entries: readonly BatchEntry[], windowSeconds = 60, originSeconds = 0): Promise<BatchResult> {
  checkOrigin(originSeconds);
  const keys = entries.map((e) => e.key);
  const limits = entries.map((e) => e.limit);
  const ns = entries.map((e) => e.n);
  const rows = await sql<{ key: string; count: number; granted: number; window_start: Date; retry_after: number; ms_left: number }[]>`
    with clock as materialized (select clock_timestamp() as now),
    win as materialized (
      select clock.now, to_timestamp(${originSeconds}::numeric + floor((extract(epoch from clock.now) - ${originSeconds}::numeric) / ${windowSeconds}) * ${windowSeconds}) as start
      from clock
    ),
    req as (select k.key, k.lim, k.n from unnest(${keys}::text[], ${limits}::int[], ${ns}::int[]) as k(key, lim, n))
    insert into rate_limit_counters as c (key, window_start, count, last_granted, expires_at)
    select req.key, win.start, least(req.n, req.lim), least(req.n, req.lim), win.start + make_interval(secs => ${windowSeconds})
    from req cross join win
    on conflict (key, window_start) do update
      set count = c.count + least(excluded.last_granted, greatest(0, (select req.lim from req where req.key = excluded.key) - c.count)),
          last_granted = least(excluded.last_granted, greatest(0, (select req.lim from req where req.key = excluded.key) - c.count))
    returning c.key, c.count, c.last_granted as granted, c.window_start,
      greatest(1, ceil(extract(epoch from (c.window_start + make_interval(secs => ${windowSeconds}) - clock_timestamp()))))::int as retry_after,
      greatest(0, floor(1000 * extract(epoch from (c.window_start + make_interval(secs => ${windowSeconds}) - clock_timestamp()))))::float8 as ms_left`;
  const granted = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const r of rows) {
    granted.set(r.key, r.granted);
    counts.set(r.key, r.count);
  }
  return { granted, counts, windowStart: rows[0]?.window_start ?? new Date(), retryAfterSeconds: rows[0]?.retry_after ?? windowSeconds, msLeft: rows[0]?.ms_left ?? 0 };
}

/** Windows start at originSeconds + k * windowSeconds (epoch seconds; 0: on the clock's multiples). */
function checkOrigin(originSeconds: number): void {
  if (!Number.isInteger(originSeconds) || originSeconds < 0) {
    throw new RangeError(`rate limit window origin must be a non-negative integer number of epoch seconds (got ${originSeconds})`);
  }
}

/** Gives back hits that were counted for a request refused by another of its keys. */
export async function refund(sql: Queryable, windowStart: Date, entries: readonly { key: string; n: number }[]): Promise<void> {
  if (entries.length === 0) return;
  await sql`
    update rate_limit_counters c set count = greatest(0, c.count - r.n)
    from unnest(${entries.map((e) => e.key)}::text[], ${entries.map((e) => e.n)}::int[]) as r(key, n)
    where c.key = r.key and c.window_start = ${windowStart}`;
}

/** Deletes counters of windows that have ended. Returns how many rows went. */
export async function purgeExpiredRateLimits(sql: Queryable): Promise<number> {
  const res = await sql`delete from rate_limit_counters where expires_at < clock_timestamp()`;
  return res.count;
}

/** Key names used by the server, in one place. */
export const rateLimitKeys = {
  player: (playerKey: string) => `player:${playerKey}`,
  user: (userId: string) => `user:${userId}`,
};
