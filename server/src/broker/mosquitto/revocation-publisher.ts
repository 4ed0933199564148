// Publishing certificate revocations to the broker (Mosquitto 2.0; facts in server/devenv/README.md).
// The mTLS listener reads its `crlfile` only at start and on SIGHUP, and a reload does not end live
// sessions. So a revocation is:
//   1. rewrite the CRL file from ALL revoked serials in the database (temp file + rename);
//   2. SIGHUP the broker, but only once the PID file names a live mosquitto whose config sets that
//      very `crlfile` (broker/broker-process.ts): a stale PID file names a dead or unrelated process;
//   3. confirm: the mTLS listener refuses a probe certificate carrying each revoked serial
//      (broker/crl-probe.ts), waiting for the broker's "Reloading config." on $SYS/broker/log/I
//      between attempts. Only that proves the revocation is in force, whoever reloaded or
//      restarted the broker;
//   4. end the live session by session takeover (broker/kick.ts; the broker publishes the will).
//      Kicking before the reload would let the device reconnect at once.
// A revocation that cannot be confirmed stays pending: revokePlayer throws
// RevocationNotConfirmedError (the API answers an error, never success), the steps are retried in
// the background with growing pauses until confirmed, then the pending players are kicked again
// (they may have reconnected meanwhile), and status() reports it for /readyz.
// A cluster-wide advisory lock keeps instances from interleaving these steps. At start the CRL is
// rewritten from the database and the newest revocation confirmed, so a restarted broker or a lost
// CRL file keeps every revocation.
import type { Logger } from 'pino';
import type { MessageRouter } from '#runtime/v1';
import type { Config } from '../../config.js';
import type { Sql } from '../../db/index.js';
import { listCrlEntries, withCrlLock } from '../../db/revocations.js';
import { buildCrl, writeCrlFile, type CertificateAuthority } from '../../pki/index.js';
import { RevocationNotConfirmedError, type RevocationStatus } from '../broker-admin.js';
import { identifyBroker } from '../broker-process.js';
import { probeRevocation, type ProbeResult } from '../crl-probe.js';
import { kickClient } from '../kick.js';

const BROKER_LOG_INFO_TOPIC = '$SYS/broker/log/I';
const RELOAD_LINE = 'Reloading config.';
/** How long after a SIGHUP the revocations may take to be in force. */
const CONFIRM_TIMEOUT_MS = 5_000;
/** Pauses between background attempts: doubling from the first to the last. */
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 10_000;

export interface RevocationPublisherDeps {
  /** The broker: its internal listener and account (for the kick), the mTLS listener (probes), the CRL file and the PID file. */
  broker: Pick<Config['broker'], 'internalUrl' | 'internalUsername' | 'internalPassword' | 'mtlsUrl' | 'crlFile' | 'pidFile'>;
  sql: Sql;
  /** Signs the CRL and the probes. */
  ca: CertificateAuthority;
  /** The server's connection, subscribed to $SYS/broker/log/I to see the broker's reloads. */
  router: MessageRouter;
  log: Logger;
  now: () => Date;
}

interface PublishOptions {
  /** Also confirm the newest revocation in the database (at start). */
  confirmNewest?: boolean;
  /** Throw when the CRL cannot be written (at start) instead of recording the problem. */
  rethrow?: boolean;
  /** The player the caller kicks itself afterwards. */
  kicksItself?: string;
}

export class RevocationPublisher {
  private reloadLines = 0;
  private readonly reloadWaiters = new Set<() => void>();
  private unsubscribeLog: (() => Promise<void>) | null = null;
  private crlChain: Promise<unknown> = Promise.resolve();
  /** Revoked serials not seen enforced yet -> the player to kick once they are (null: none). */
  private readonly pending = new Map<string, string | null>();
  private pendingSince: Date | null = null;
  private problem: string | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelayMs = RETRY_FIRST_MS;
  private retrying: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly deps: RevocationPublisherDeps) {}

  /**
   * Listens for broker reloads, then rewrites the CRL from the database and confirms the newest
   * revocation (not confirmed: pending, retried in the background; startup goes on).
   */
  async start(): Promise<void> {
    const { router, log, broker } = this.deps;
    try {
      this.unsubscribeLog = await router.subscribeRaw(BROKER_LOG_INFO_TOPIC, (_topic, payload) => this.onBrokerLog(payload), { qos: 0 });
    } catch (err) {
      log.warn({ err: (err as Error).message }, `cannot subscribe to ${BROKER_LOG_INFO_TOPIC}: reloads are confirmed by probing only`);
    }
    if (broker.crlFile === null) {
      log.warn('BROKER_CRL_FILE is not set: a deleted player keeps a certificate the broker accepts until it expires (its live session is still ended)');
      return;
    }
    const inForce = await this.publish({ confirmNewest: true, rethrow: true });
    if (!inForce) this.scheduleRetry();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    for (const wake of this.reloadWaiters) wake();
    await this.retrying;
    await this.crlChain.catch(() => undefined);
    const unsubscribe = this.unsubscribeLog;
    this.unsubscribeLog = null;
    await unsubscribe?.().catch(() => undefined);
  }

  status(): RevocationStatus {
    return { inForce: this.pending.size === 0, pending: this.pending.size, since: this.pendingSince, problem: this.pending.size ? this.problem : null };
  }

  /**
   * Ends a deleted player's access. The caller has recorded the revocation of `serials` (its
   * certificates); the CRL is rewritten, the broker reloaded, the revocation confirmed, then the
   * live session kicked (also when not confirmed). Throws RevocationNotConfirmedError when the
   * broker has not been seen refusing every one of `serials` (retried in the background). Without
   * a CRL file only the kick happens.
   */
  async revokePlayer(playerKey: string, serials: readonly string[]): Promise<void> {
    const { log } = this.deps;
    if (this.deps.broker.crlFile === null) {
      log.warn({ playerKey }, 'no BROKER_CRL_FILE: the deleted player is only disconnected, its certificate is not revoked on the broker');
      await this.kickClient(playerKey);
      return;
    }
    for (const s of serials) this.pending.set(s, playerKey);
    if (this.pending.size > 0) this.pendingSince ??= this.deps.now();
    await this.publish({ kicksItself: playerKey });
    const inForce = serials.every((s) => !this.pending.has(s));
    if (inForce) {
      await this.kickClient(playerKey);
      return;
    }
    // Not in force: the session is ended anyway (it may come back until the broker reloads).
    await this.kickClient(playerKey).catch((err) => log.warn({ err: (err as Error).message, playerKey }, 'kick failed'));
    log.warn({ playerKey, serials, problem: this.problem }, 'revocation not confirmed by the broker; retrying in the background');
    this.scheduleRetry();
    throw new RevocationNotConfirmedError(this.problem ?? 'not confirmed');
  }

  /** Ends the session whose client id is `clientId` (on any listener) by taking it over from the internal listener. */
  async kickClient(clientId: string): Promise<void> {
    const b = this.deps.broker;
    await kickClient({
      url: b.internalUrl,
      username: b.internalUsername,
      password: b.internalPassword,
      clientId,
      onError: (err) => this.deps.log.warn({ err: err.message, clientId }, 'kick connection error'),
    });
  }

  /**
   * One attempt, serialised across instances: write the CRL, reload the broker, confirm what is
   * pending (with `confirmNewest`, the newest revocation in the database too). Confirmed serials
   * leave `pending`, and so do serials the CRL no longer lists (their certificates have expired);
   * the players of confirmed serials are kicked (again: they may have reconnected while the broker
   * still accepted them), except `kicksItself`. Resolves true when nothing is pending any more.
   * Failures become `problem` (or are thrown with `rethrow`).
   */
  private publish(o: PublishOptions): Promise<boolean> {
    const run = this.crlChain.catch(() => undefined).then(() => this.attempt(o));
    this.crlChain = run;
    return run;
  }

  private async attempt(o: PublishOptions): Promise<boolean> {
    const { sql, ca, now, log } = this.deps;
    const file = this.deps.broker.crlFile;
    if (file === null) return true;
    const before = new Map(this.pending);
    try {
      await withCrlLock(sql, async (tx) => {
        const entries = await listCrlEntries(tx);
        const pem = await buildCrl(ca, entries.map((e) => ({ serialHex: e.serial, revokedAt: e.revoked_at })), { now: now() });
        writeCrlFile(file, pem);
        const listed = new Set(entries.map((e) => e.serial));
        for (const serial of [...this.pending.keys()]) if (!listed.has(serial)) this.pending.delete(serial);
        const newest = entries.at(-1);
        if (o.confirmNewest && newest && !this.pending.has(newest.serial)) {
          this.pending.set(newest.serial, null);
          this.pendingSince ??= now();
        }
        const signalProblem = this.signalBroker();
        this.problem = await this.confirm([...this.pending.keys()], signalProblem);
      });
    } catch (err) {
      if (o.rethrow) throw err;
      this.problem = `could not write the CRL and reload the broker: ${(err as Error).message}`;
    }
    const kick = [...before].filter(([serial, key]) => key !== null && key !== o.kicksItself && !this.pending.has(serial)).map(([, key]) => key!);
    if (this.pending.size === 0) {
      this.pendingSince = null;
      this.problem = null;
    }
    if (before.size > 0 && this.pending.size === 0) log.info({ serials: [...before.keys()] }, 'revocations in force: the broker refuses these certificates');
    for (const key of new Set(kick)) {
      // Kicked once more: it may have reconnected while the broker still accepted it.
      await this.kickClient(key).catch((err) => log.warn({ err: (err as Error).message, playerKey: key }, 'kick failed'));
    }
    return this.pending.size === 0;
  }

  /** SIGHUP to the broker when the PID file names it; the problem otherwise (null when signalled). */
  private signalBroker(): string | null {
    const { pidFile, crlFile } = this.deps.broker;
    if (pidFile === null) return 'BROKER_PID_FILE is not set: the broker re-reads the CRL only when it restarts';
    const broker = identifyBroker(pidFile, crlFile!);
    if ('problem' in broker) return broker.problem;
    try {
      process.kill(broker.pid, 'SIGHUP');
      return null;
    } catch (err) {
      return `cannot signal the broker (pid ${broker.pid}): ${(err as Error).message}`;
    }
  }

  /**
   * Probes each serial until the broker refuses them all. After a SIGHUP it retries (woken by the
   * broker's reload line, or after a short pause) for up to CONFIRM_TIMEOUT_MS; without one it
   * probes once (a broker restarted since the CRL was written enforces it too). Confirmed serials
   * leave `pending`. Returns why not all were confirmed, or null.
   */
  private async confirm(serials: string[], signalProblem: string | null): Promise<string | null> {
    const { broker, ca } = this.deps;
    const deadline = Date.now() + (signalProblem === null ? CONFIRM_TIMEOUT_MS : 0);
    let remaining = serials;
    let pauseMs = 20;
    for (;;) {
      const seen = this.reloadLines;
      const results = await Promise.all(remaining.map((serialHex) => probeRevocation({ url: broker.mtlsUrl, ca, serialHex })
        .catch((err: unknown): ProbeResult => ({ error: `no probe for serial ${serialHex}: ${(err as Error).message}` }))));
      remaining.forEach((s, i) => { if (results[i] === 'refused') this.pending.delete(s); });
      remaining = remaining.filter((_, i) => results[i] !== 'refused');
      if (remaining.length === 0) return null;
      const failure = results.find((r) => r !== 'refused')!;
      const why = failure === 'accepted'
        ? `the broker still accepts a certificate with the revoked serial ${remaining[0]}`
        : `cannot ask the broker's mTLS listener ${broker.mtlsUrl}: ${failure.error}`;
      if (this.closed || Date.now() >= deadline) return signalProblem ? `${signalProblem}; ${why}` : why;
      await this.waitForReload(seen, Math.min(pauseMs, deadline - Date.now()));
      pauseMs = Math.min(pauseMs * 2, 500);
    }
  }

  /** One background attempt after the current pause (at most one timer; a running attempt reschedules itself). */
  private scheduleRetry(): void {
    if (this.closed || this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.retrying !== null) return;
      this.retrying = this.retry().finally(() => { this.retrying = null; });
    }, this.retryDelayMs);
    this.retryTimer.unref();
  }

  private async retry(): Promise<void> {
    if (this.closed || this.pending.size === 0) return;
    await this.publish({}).catch(() => false);
    // Judged on what is pending now: a revocation recorded meanwhile is retried too.
    if (this.pending.size === 0) {
      this.retryDelayMs = RETRY_FIRST_MS;
      return;
    }
    this.retryDelayMs = Math.min(this.retryDelayMs * 2, RETRY_MAX_MS);
    this.deps.log.warn({ pending: this.pending.size, since: this.pendingSince, problem: this.problem, nextTryMs: this.retryDelayMs },
      'revocations still not confirmed by the broker');
    this.scheduleRetry();
  }

  private onBrokerLog(payload: Buffer): void {
    if (!payload.toString('utf8').includes(RELOAD_LINE)) return;
    this.reloadLines += 1;
    for (const wake of this.reloadWaiters) wake();
  }

  /** Resolves on a reload line after the `after`-th, on close, or after `timeoutMs`. */
  private waitForReload(after: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.reloadLines > after || this.closed) finish();
      };
      const finish = () => {
        clearTimeout(timer);
        this.reloadWaiters.delete(check);
        resolve();
      };
      const timer = setTimeout(finish, Math.max(0, timeoutMs));
      this.reloadWaiters.add(check);
      check();
    });
  }
}
