// Who a player is, as the MQTT request path needs it (registered, owner, the owner's moderator
// flag), kept in memory so that a request does not cost a look-up statement. Changes reach every
// instance by LISTEN/NOTIFY (migration 0011: a trigger on players and users, delivered at commit):
// a player revoked, deleted or moved, or an owner whose roles changed, is forgotten at once and
// looked up again on its next request. Safe against the races:
//  - a look-up that was in flight while any change arrived is answered but not kept (the epoch);
//  - while the LISTEN connection is (re)connecting nothing is known to be current: the cache is
//    emptied when it (re)connects, and entries live at most `ttlMs` in any case;
//  - the listener is proven alive, not assumed: every `pingMs` the cache notifies its own channel
//    through the pool, and serves nothing while no notification has arrived for `aliveMs` (a LISTEN
//    connection that dropped while other instances kept committing changes is noticed within
//    that time; postgres.js re-listens by itself and the reconnection empties the cache);
//  - only registered players are kept (an unknown or pending key is looked up every time).
import type postgres from 'postgres';
import type { Sql } from '../db/index.js';
import type { PlayerAuth } from '../db/player-session.js';

export const PLAYER_AUTH_CHANNEL = 'makapix_player_auth';
/** The payload of the liveness pings (never a player_key: not a UUID; not `user:`). */
const ALIVE = 'alive';

export type KnownPlayer = Omit<PlayerAuth, 'stored'>;

interface Entry { player: KnownPlayer; at: number }

export class PlayerAuthCache {
  private readonly entries = new Map<string, Entry>();
  private epoch = 0;
  private listening = false;
  private listener: postgres.ListenMeta | null = null;
  private heardAt = 0;
  private pinger: NodeJS.Timeout | null = null;

  constructor(
    /** Longest an entry is trusted without a notification (a backstop for a lost LISTEN connection). */
    private readonly ttlMs = 30_000,
    /** Most players kept (the oldest entry goes first). */
    private readonly maxEntries = 200_000,
    /** How often the listener's liveness is checked by a notification of its own. */
    private readonly pingMs = 1_000,
    /** Nothing is served from memory when no notification arrived for this long. */
    private readonly aliveMs = 5_000,
  ) {}

  /** Starts listening; until the listener is connected nothing is served from memory. */
  async start(sql: Sql): Promise<void> {
    this.listener = await sql.listen(PLAYER_AUTH_CHANNEL, (payload) => this.changed(payload), () => {
      // (re)connected: whatever changed while the listener was away is unknown
      this.clear();
      this.listening = true;
      this.heardAt = Date.now();
    });
    this.pinger = setInterval(() => {
      sql.notify(PLAYER_AUTH_CHANNEL, ALIVE).catch(() => {
        // the database is away: nothing arrives, and the cache stops serving after aliveMs
      });
    }, this.pingMs);
    this.pinger.unref();
  }

  async stop(): Promise<void> {
    if (this.pinger !== null) clearInterval(this.pinger);
    this.pinger = null;
    this.listening = false;
    this.clear();
    await this.listener?.unlisten().catch(() => {});
    this.listener = null;
  }

  /** The current epoch: take it before a look-up, give it back to `keep`. */
  begin(): number {
    return this.epoch;
  }

  /** The registered player under `playerKey` (lower case), when known. */
  get(playerKey: string): KnownPlayer | undefined {
    if (!this.alive()) return undefined;
    const e = this.entries.get(playerKey);
    if (e === undefined) return undefined;
    if (Date.now() - e.at > this.ttlMs) {
      this.entries.delete(playerKey);
      return undefined;
    }
    return e.player;
  }

  /** Keeps what a look-up begun at `epoch` found, unless anything changed since. */
  keep(epoch: number, playerKey: string, player: KnownPlayer | null): void {
    if (!this.alive() || epoch !== this.epoch || player === null || !player.registered) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(playerKey, { player, at: Date.now() });
  }

  /** A notification: a player_key, or `user:<id>` for every player of that owner. */
  changed(payload: string): void {
    this.heardAt = Date.now();
    if (payload === ALIVE) return;
    this.epoch += 1;
    if (payload.startsWith('user:')) {
      const ownerId = Number(payload.slice('user:'.length));
      for (const [k, e] of this.entries) if (e.player.ownerId === ownerId) this.entries.delete(k);
      return;
    }
    this.entries.delete(payload.toLowerCase());
  }

  /** Listening, and a notification (a ping at least) arrived within aliveMs; else forgets everything. */
  private alive(): boolean {
    if (!this.listening) return false;
    if (Date.now() - this.heardAt <= this.aliveMs) return true;
    if (this.entries.size > 0) this.clear();
    return false;
  }

  private clear(): void {
    this.epoch += 1;
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Answers to recent pure reads, in memory only (a read has no effect, so it needs no stored answer
 * to be safe under redelivery): a copy of the request arriving at this instance while its answer is
 * remembered gets the same answer again, not counted against the rate limit; a copy arriving later,
 * or at another instance, is answered again from current data (the firmware waits 10 s before a
 * retry, and a retry means it did not get the first answer). Two generations, each at most
 * `maxPerGeneration` answers and `ttlMs` old: an answer is remembered for between ttlMs and
 * 2 × ttlMs, less under a load that fills a generation sooner. Answers to identical queries share
 * their page (the feed page cache), so an entry is mostly its request id.
 */
export class RecentAnswers<A> {
  private current = new Map<string, A>();
  private previous = new Map<string, A>();
  private rotatedAt = Date.now();

  constructor(
    private readonly ttlMs = 30_000,
    private readonly maxPerGeneration = 5_000,
  ) {}

  get(key: string): A | undefined {
    this.rotate();
    return this.current.get(key) ?? this.previous.get(key);
  }

  /** Remembers the first answer to `key`; returns the one remembered. */
  put(key: string, answer: A): A {
    this.rotate();
    const had = this.current.get(key) ?? this.previous.get(key);
    if (had !== undefined) return had;
    this.current.set(key, answer);
    return answer;
  }

  private rotate(): void {
    const now = Date.now();
    if (now - this.rotatedAt < this.ttlMs && this.current.size < this.maxPerGeneration) return;
    this.previous = now - this.rotatedAt >= 2 * this.ttlMs ? new Map() : this.current;
    this.current = new Map();
    this.rotatedAt = now;
  }
}
