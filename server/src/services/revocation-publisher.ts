// Publishing certificate revocations to the broker (Mosquitto 2.0; facts in server/devenv/README.md).
// The mTLS listener reads its `crlfile` only at start and on SIGHUP, and a reload does not end live
// sessions. So a revocation is: rewrite the CRL file from ALL revoked serials in the database (temp
// file + rename), SIGHUP the broker, wait until it announces "Reloading config." on
// $SYS/broker/log/I, then end the live session by session takeover (broker/kick.ts; the broker
// publishes the player's will). Kicking before the reload would let the device reconnect at once.
// A cluster-wide advisory lock keeps instances from interleaving these steps. At start the CRL is
// rewritten from the database, so a restarted broker keeps every revocation.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { MessageRouter } from '#runtime/v1';
import { kickClient } from '../broker/kick.js';
import type { Config } from '../config.js';
import type { Sql } from '../db/index.js';
import { listCrlEntries, withCrlLock } from '../db/revocations.js';
import { buildCrl, writeCrlFile, type CertificateAuthority } from '../pki/index.js';

const BROKER_LOG_INFO_TOPIC = '$SYS/broker/log/I';
const RELOAD_LINE = 'Reloading config.';
const RELOAD_TIMEOUT_MS = 5_000;

export interface RevocationPublisherDeps {
  /** The broker: its internal listener and account (for the kick), the CRL file and the PID file. */
  broker: Pick<Config['broker'], 'internalUrl' | 'internalUsername' | 'internalPassword' | 'crlFile' | 'pidFile'>;
  sql: Sql;
  /** Signs the CRL. */
  ca: CertificateAuthority;
  /** The server's connection, subscribed to $SYS/broker/log/I to see the broker's reloads. */
  router: MessageRouter;
  log: Logger;
  now: () => Date;
}

export class RevocationPublisher {
  private reloadLines = 0;
  private readonly reloadWaiters = new Set<() => void>();
  private unsubscribeLog: (() => Promise<void>) | null = null;
  private crlChain: Promise<unknown> = Promise.resolve();
  private warnedNoPid = false;
  private closed = false;

  constructor(private readonly deps: RevocationPublisherDeps) {}

  /** Listens for broker reloads, then rewrites the CRL from the database (and reloads the broker). */
  async start(): Promise<void> {
    const { router, log, broker } = this.deps;
    try {
      this.unsubscribeLog = await router.subscribeRaw(BROKER_LOG_INFO_TOPIC, (_topic, payload) => this.onBrokerLog(payload), { qos: 0 });
    } catch (err) {
      log.warn({ err: (err as Error).message }, `cannot subscribe to ${BROKER_LOG_INFO_TOPIC}: broker reloads will not be confirmed`);
    }
    if (broker.crlFile === null) {
      log.warn('BROKER_CRL_FILE is not set: a deleted player keeps a certificate the broker accepts until it expires (its live session is still ended)');
    } else {
      await this.refreshCrl();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.crlChain.catch(() => undefined);
    for (const wake of this.reloadWaiters) wake();
    const unsubscribe = this.unsubscribeLog;
    this.unsubscribeLog = null;
    await unsubscribe?.().catch(() => undefined);
  }

  /**
   * Ends a deleted player's access: rewrites the CRL from every revoked serial (the caller has
   * recorded this player's), reloads the broker, then kicks the live session. Without a CRL file
   * only the kick happens. A CRL that cannot be written is an error (after the kick).
   */
  async revokePlayer(playerKey: string): Promise<void> {
    let crlError: unknown = null;
    if (this.deps.broker.crlFile !== null) {
      try {
        await this.refreshCrl();
      } catch (err) {
        crlError = err;
      }
    } else {
      this.deps.log.warn({ playerKey }, 'no BROKER_CRL_FILE: the deleted player is only disconnected, its certificate is not revoked on the broker');
    }
    await this.kickClient(playerKey);
    if (crlError !== null) throw crlError;
  }

  /** Writes the CRL file from the database and has the broker re-read it (serialised across instances). */
  refreshCrl(): Promise<void> {
    const run = this.crlChain.catch(() => undefined).then(() => this.writeCrlAndReload());
    this.crlChain = run;
    return run;
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

  private async writeCrlAndReload(): Promise<void> {
    const { sql, ca, now } = this.deps;
    const file = this.deps.broker.crlFile;
    if (file === null) return;
    await withCrlLock(sql, async (tx) => {
      const entries = await listCrlEntries(tx);
      const pem = await buildCrl(ca, entries.map((e) => ({ serialHex: e.serial, revokedAt: e.revoked_at })), { now: now() });
      writeCrlFile(file, pem);
      await this.reloadBroker();
    });
  }

  /** SIGHUP to the broker, then wait (bounded) until it announces the reload. False when it could not be confirmed. */
  private async reloadBroker(): Promise<boolean> {
    const log = this.deps.log;
    const pidFile = this.deps.broker.pidFile;
    if (pidFile === null) {
      if (!this.warnedNoPid) log.warn('BROKER_PID_FILE is not set: the broker re-reads the CRL only when it restarts');
      this.warnedNoPid = true;
      return false;
    }
    let pid: number;
    try {
      pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
      if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`no process id in ${pidFile}`);
    } catch (err) {
      log.warn({ err: (err as Error).message, pidFile }, 'cannot read the broker PID: the CRL is not reloaded');
      return false;
    }
    const seen = this.reloadLines;
    const reloaded = this.waitForReload(seen, RELOAD_TIMEOUT_MS);
    try {
      process.kill(pid, 'SIGHUP');
    } catch (err) {
      log.warn({ err: (err as Error).message, pid }, 'cannot signal the broker: the CRL is not reloaded');
      return false;
    }
    const ok = await reloaded;
    if (!ok) log.warn({ pid, timeoutMs: RELOAD_TIMEOUT_MS }, `the broker did not announce "${RELOAD_LINE}" on ${BROKER_LOG_INFO_TOPIC} in time`);
    return ok;
  }

  private onBrokerLog(payload: Buffer): void {
    if (!payload.toString('utf8').includes(RELOAD_LINE)) return;
    this.reloadLines += 1;
    for (const wake of this.reloadWaiters) wake();
  }

  private waitForReload(after: number, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.reloadLines > after) finish(true);
        else if (this.closed) finish(false);
      };
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        this.reloadWaiters.delete(check);
        resolve(ok);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      this.reloadWaiters.add(check);
      check();
    });
  }
}
