// What the server asks of the broker beyond publish/subscribe (Mosquitto 2.0; facts in
// server/devenv/README.md):
//
// * Certificate revocation. The mTLS listener reads its `crlfile` only at start and on SIGHUP,
//   and a reload does not end live sessions. So a revocation is: rewrite the CRL file from ALL
//   revoked serials in the database (temp file + rename), SIGHUP the broker, wait until it
//   announces "Reloading config." on $SYS/broker/log/I, then end the live session by session
//   takeover (connect on the internal listener with client id = player_key, then disconnect; the
//   broker publishes the player's will). Kicking before the reload would let the device reconnect
//   at once. A cluster-wide advisory lock keeps instances from interleaving these steps. At start
//   the CRL is rewritten from the database, so a restarted broker keeps every revocation.
//
// * Web users (dynamic security on the WebSocket listener). One broker client per user
//   (username = user_id) with the base role (category notifications) and a role of its own
//   (its follow notifications). $CONTROL is accepted only from the WebSocket listener, so a
//   dynsec-admin connection is opened there lazily and reused; each $CONTROL round trip costs
//   ~100 ms, so commands are batched. A periodic sweep deletes the broker clients (and roles)
//   whose credential expired or disappeared (deleteClient also ends the live session).
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { postNewForFollowerTopic, postNewInCategoryTopic } from '../../../generated/asyncapi/channels.js';
import type { Config } from '../config.js';
import type { AppContext } from '../context.js';
import { listCrlEntries, withCrlLock } from '../db/revocations.js';
import {
  deleteExpiredWebCredentials, liveWebUsernames, lockForIssue, lockForSweep, upsertWebCredential,
} from '../db/web-credentials.js';
import { buildCrl } from '../pki/index.js';

/** Role every web user gets (it exists in the dev broker; created here when absent). */
export const WEB_USER_BASE_ROLE = 'web-user-base';
const WEB_USER_ROLE_PREFIX = 'web-user-';

const BROKER_LOG_INFO_TOPIC = '$SYS/broker/log/I';
const RELOAD_LINE = 'Reloading config.';
const DYNSEC_TOPIC = '$CONTROL/dynamic-security/v1';
const DYNSEC_RESPONSE_TOPIC = `${DYNSEC_TOPIC}/response`;

const RELOAD_TIMEOUT_MS = 5_000;
const DYNSEC_TIMEOUT_MS = 10_000;
const SWEEP_INTERVAL_MS = 60_000;
const DYNSEC_BATCH = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type DynsecCommand = { command: string } & Record<string, unknown>;
interface DynsecResponse {
  command: string;
  error?: string;
  data?: unknown;
  correlationData?: string;
}

/** The per-user role of a web user. */
export function webUserRole(userId: string): string {
  return `${WEB_USER_ROLE_PREFIX}${userId}`;
}

/** Topic filters a web user may subscribe to: its own follow notifications, then the category promotions. */
export function webUserTopics(userId: string): { own: string; categories: string } {
  return { own: postNewForFollowerTopic.filterRest({ follower_id: userId }), categories: postNewInCategoryTopic.filterRest() };
}

export interface WebCredentialGrant {
  /** users.id */
  userInternalId: number;
  /** users.user_id: the MQTT username. */
  userId: string;
  password: string;
  /** sha256 of the password, the only form stored. */
  tokenHash: string;
  expiresAt: Date;
}

export class BrokerAdmin {
  private ctx: AppContext | null = null;
  private reloadLines = 0;
  private readonly reloadWaiters = new Set<() => void>();
  private unsubscribeLog: (() => Promise<void>) | null = null;
  private crlChain: Promise<unknown> = Promise.resolve();
  private dynsec: Promise<MqttClient> | null = null;
  private baseRoleEnsured = false;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> | null = null;
  private warnedNoPid = false;
  private closed = false;

  constructor(
    readonly config: Config,
    readonly log: Logger,
    readonly client: MqttClient,
  ) {}

  /** Listens for broker reloads, rewrites the CRL from the database (and reloads), starts the web-credential sweep. */
  async start(ctx: AppContext): Promise<void> {
    this.ctx = ctx;
    const b = this.config.broker;
    try {
      this.unsubscribeLog = await ctx.router.subscribeRaw(BROKER_LOG_INFO_TOPIC, (_topic, payload) => this.onBrokerLog(payload), { qos: 0 });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, `cannot subscribe to ${BROKER_LOG_INFO_TOPIC}: broker reloads will not be confirmed`);
    }
    if (b.crlFile === null) {
      this.log.warn('BROKER_CRL_FILE is not set: a deleted player keeps a certificate the broker accepts until it expires (its live session is still ended)');
    } else {
      await this.refreshCrl();
    }
    if (b.dynsecAdmin === null) {
      this.log.warn('MQTT_DYNSEC_ADMIN_USERNAME/PASSWORD are not set: GET /mqtt/bootstrap cannot issue WebSocket credentials');
    } else {
      this.sweepSoon();
      this.sweepTimer = setInterval(() => this.sweepSoon(), SWEEP_INTERVAL_MS);
      this.sweepTimer.unref();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    await this.sweeping?.catch(() => undefined);
    await this.crlChain.catch(() => undefined);
    for (const wake of this.reloadWaiters) wake();
    const unsubscribe = this.unsubscribeLog;
    this.unsubscribeLog = null;
    await unsubscribe?.().catch(() => undefined);
    const dynsec = this.dynsec;
    this.dynsec = null;
    if (dynsec) await dynsec.then((c) => c.endAsync(), () => undefined).catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------------
  // revocation
  // -------------------------------------------------------------------------------------------

  /**
   * Ends a deleted player's access: rewrites the CRL from every revoked serial (the caller has
   * recorded this player's), reloads the broker, then kicks the live session. Without a CRL file
   * only the kick happens. A CRL that cannot be written is an error (after the kick).
   */
  async revokePlayer(playerKey: string): Promise<void> {
    let crlError: unknown = null;
    if (this.config.broker.crlFile !== null) {
      try {
        await this.refreshCrl();
      } catch (err) {
        crlError = err;
      }
    } else {
      this.log.warn({ playerKey }, 'no BROKER_CRL_FILE: the deleted player is only disconnected, its certificate is not revoked on the broker');
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

  private async writeCrlAndReload(): Promise<void> {
    const ctx = this.requireStarted();
    const file = this.config.broker.crlFile;
    if (file === null) return;
    await withCrlLock(ctx.sql, async (tx) => {
      const entries = await listCrlEntries(tx);
      const pem = await buildCrl(ctx.ca, entries.map((e) => ({ serialHex: e.serial, revokedAt: e.revoked_at })), { now: ctx.now() });
      writeAtomically(file, pem);
      await this.reloadBroker();
    });
  }

  /** SIGHUP to the broker, then wait (bounded) until it announces the reload. False when it could not be confirmed. */
  private async reloadBroker(): Promise<boolean> {
    const pidFile = this.config.broker.pidFile;
    if (pidFile === null) {
      if (!this.warnedNoPid) this.log.warn('BROKER_PID_FILE is not set: the broker re-reads the CRL only when it restarts');
      this.warnedNoPid = true;
      return false;
    }
    let pid: number;
    try {
      pid = Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10);
      if (!Number.isSafeInteger(pid) || pid <= 1) throw new Error(`no process id in ${pidFile}`);
    } catch (err) {
      this.log.warn({ err: (err as Error).message, pidFile }, 'cannot read the broker PID: the CRL is not reloaded');
      return false;
    }
    const seen = this.reloadLines;
    const reloaded = this.waitForReload(seen, RELOAD_TIMEOUT_MS);
    try {
      process.kill(pid, 'SIGHUP');
    } catch (err) {
      this.log.warn({ err: (err as Error).message, pid }, 'cannot signal the broker: the CRL is not reloaded');
      return false;
    }
    const ok = await reloaded;
    if (!ok) this.log.warn({ pid, timeoutMs: RELOAD_TIMEOUT_MS }, `the broker did not announce "${RELOAD_LINE}" on ${BROKER_LOG_INFO_TOPIC} in time`);
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

  /** Ends the session whose client id is `clientId` (on any listener) by taking it over from the internal listener. */
  async kickClient(clientId: string): Promise<void> {
    const b = this.config.broker;
    const kicker = await mqtt.connectAsync(b.internalUrl, {
      protocolVersion: 5,
      clientId,
      clean: true,
      username: b.internalUsername,
      password: b.internalPassword,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      properties: { sessionExpiryInterval: 0 },
    });
    // a socket error after connecting must not become an unhandled 'error' event
    kicker.on('error', (err) => this.log.warn({ err: err.message, clientId }, 'kick connection error'));
    // The CONNACK comes after the broker has closed the old connection.
    await kicker.endAsync();
  }

  // -------------------------------------------------------------------------------------------
  // web users (dynamic security)
  // -------------------------------------------------------------------------------------------

  get webUsersEnabled(): boolean {
    return this.config.broker.dynsecAdmin !== null;
  }

  /**
   * Stores the credential (hash + expiry) and creates or updates the user's broker client with
   * the new password, in one transaction: a failure on the broker keeps the previous credential.
   * Setting the password ends a live session that used the previous one (the plugin kicks it).
   */
  async issueWebCredential(g: WebCredentialGrant): Promise<void> {
    const ctx = this.requireStarted();
    await ctx.sql.begin(async (tx) => {
      await lockForIssue(tx);
      await upsertWebCredential(tx, { userId: g.userInternalId, username: g.userId, tokenHash: g.tokenHash, expiresAt: g.expiresAt });
      await this.upsertDynsecUser(g.userId, g.password);
    });
  }

  private async upsertDynsecUser(userId: string, password: string): Promise<void> {
    const { own, categories } = webUserTopics(userId);
    const role = webUserRole(userId);
    const roles = [{ rolename: WEB_USER_BASE_ROLE }, { rolename: role }];
    const commands: DynsecCommand[] = [];
    if (!this.baseRoleEnsured) {
      commands.push({ command: 'createRole', rolename: WEB_USER_BASE_ROLE, acls: receiveAcls(categories) });
    }
    commands.push(
      { command: 'createRole', rolename: role, acls: receiveAcls(own) },
      { command: 'createClient', username: userId, password, roles },
      // For an existing client (createClient fails): new password, the same two roles.
      { command: 'modifyClient', username: userId, password, roles },
      { command: 'enableClient', username: userId },
    );
    const tolerated = new Map([
      ['createRole', 'Role already exists'],
      ['createClient', 'Client already exists'],
    ]);
    const responses = await this.dynsecCommands(commands);
    const failed = responses.filter((r) => r.error && tolerated.get(r.command) !== r.error);
    if (failed.length > 0) {
      throw new Error(`dynamic security refused: ${failed.map((r) => `${r.command}: ${r.error}`).join('; ')}`);
    }
    this.baseRoleEnsured = true;
  }

  private sweepSoon(): void {
    if (this.closed || this.sweeping) return;
    this.sweeping = this.sweepWebCredentials()
      .then((deleted) => {
        if (deleted.length) this.log.info({ count: deleted.length }, 'expired WebSocket MQTT credentials removed from the broker');
      })
      .catch((err) => this.log.warn({ err: (err as Error).message }, 'web credential sweep failed'))
      .finally(() => {
        this.sweeping = null;
      });
  }

  /**
   * Deletes the broker clients and per-user roles of web users without a live credential
   * (expired, or the user is gone), and the expired credential rows. The server owns every
   * dynamic-security client whose username is a UUID. Returns the deleted usernames.
   */
  async sweepWebCredentials(): Promise<string[]> {
    const ctx = this.requireStarted();
    if (!this.webUsersEnabled) return [];
    return ctx.sql.begin(async (tx) => {
      await lockForSweep(tx);
      const [clientList, roleList] = await this.dynsecCommands([
        { command: 'listClients', verbose: false, count: -1 },
        { command: 'listRoles', verbose: false, count: -1 },
      ]);
      const clients = namesIn(clientList, 'clients').filter((u) => UUID.test(u));
      const roleOwners = namesIn(roleList, 'roles')
        .filter((r) => r.startsWith(WEB_USER_ROLE_PREFIX) && UUID.test(r.slice(WEB_USER_ROLE_PREFIX.length)))
        .map((r) => r.slice(WEB_USER_ROLE_PREFIX.length));
      await deleteExpiredWebCredentials(tx);
      const live = await liveWebUsernames(tx, [...new Set([...clients, ...roleOwners])]);
      const staleClients = clients.filter((u) => !live.has(u));
      const commands: DynsecCommand[] = [
        ...staleClients.map((username) => ({ command: 'deleteClient', username })),
        ...roleOwners.filter((u) => !live.has(u)).map((u) => ({ command: 'deleteRole', rolename: webUserRole(u) })),
      ];
      for (let i = 0; i < commands.length; i += DYNSEC_BATCH) {
        const responses = await this.dynsecCommands(commands.slice(i, i + DYNSEC_BATCH));
        for (const r of responses) if (r.error) this.log.warn({ command: r.command, error: r.error }, 'dynamic security sweep command failed');
      }
      return staleClients;
    }) as Promise<string[]>;
  }

  /** The dynsec-admin connection on the WebSocket listener, opened on first use and reused. */
  private dynsecClient(): Promise<MqttClient> {
    const admin = this.config.broker.dynsecAdmin;
    if (admin === null) return Promise.reject(new Error('no dynamic-security admin account is configured'));
    if (this.closed) return Promise.reject(new Error('broker admin is closed'));
    if (this.dynsec === null) {
      const connecting: Promise<MqttClient> = (async () => {
        const c = await mqtt.connectAsync(this.config.broker.websocketUrl, {
          protocolVersion: 5,
          username: admin.username,
          password: admin.password,
          clientId: `makapix-dynsec-${randomUUID()}`,
          clean: true,
          reconnectPeriod: 0,
          connectTimeout: 10_000,
        });
        c.on('error', (err) => this.log.warn({ err: err.message }, 'dynamic-security admin connection error'));
        c.on('close', () => {
          if (this.dynsec === connecting) this.dynsec = null;
        });
        await c.subscribeAsync(DYNSEC_RESPONSE_TOPIC, { qos: 1 });
        return c;
      })();
      this.dynsec = connecting;
      connecting.catch(() => {
        if (this.dynsec === connecting) this.dynsec = null;
      });
    }
    return this.dynsec;
  }

  /** Sends `commands` in one $CONTROL message and returns the plugin's responses (in order). */
  private async dynsecCommands(commands: DynsecCommand[]): Promise<DynsecResponse[]> {
    const client = await this.dynsecClient();
    const tag = randomUUID();
    const tagged = commands.map((c, i) => ({ ...c, correlationData: `${tag}:${i}` }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => done(new Error(`dynamic security: no answer within ${DYNSEC_TIMEOUT_MS} ms to ${commands.map((c) => c.command).join(', ')}`)),
        DYNSEC_TIMEOUT_MS,
      );
      const onMessage = (topic: string, payload: Buffer) => {
        if (topic !== DYNSEC_RESPONSE_TOPIC) return;
        let body: { responses?: DynsecResponse[] };
        try {
          body = JSON.parse(payload.toString('utf8')) as { responses?: DynsecResponse[] };
        } catch {
          return;
        }
        const mine = (body.responses ?? []).filter((r) => r.correlationData?.startsWith(`${tag}:`));
        if (mine.length === 0) return;
        mine.sort((a, b) => Number(a.correlationData!.slice(tag.length + 1)) - Number(b.correlationData!.slice(tag.length + 1)));
        done(null, mine);
      };
      const onClose = () => done(new Error('dynamic security: the admin connection closed before the answer'));
      const done = (err: Error | null, responses?: DynsecResponse[]) => {
        clearTimeout(timer);
        client.off('message', onMessage);
        client.off('close', onClose);
        if (err) reject(err);
        else resolve(responses!);
      };
      client.on('message', onMessage);
      client.on('close', onClose);
      client.publish(DYNSEC_TOPIC, JSON.stringify({ commands: tagged }), { qos: 1 }, (err) => {
        if (err) done(err);
      });
    });
  }

  private requireStarted(): AppContext {
    if (!this.ctx) throw new Error('BrokerAdmin.start(ctx) has not been called');
    return this.ctx;
  }
}

function receiveAcls(filter: string) {
  return [
    { acltype: 'subscribePattern', topic: filter, allow: true },
    { acltype: 'publishClientReceive', topic: filter, allow: true },
  ];
}

/** `data.<key>` of a non-verbose list response: names. */
function namesIn(response: DynsecResponse | undefined, key: 'clients' | 'roles'): string[] {
  if (!response || response.error) throw new Error(`dynamic security: ${response?.command ?? 'list'} failed: ${response?.error ?? 'no answer'}`);
  const list = (response.data as Record<string, unknown> | undefined)?.[key];
  return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string') : [];
}

/** Replaces `file` atomically (write a temporary file beside it, then rename). */
function writeAtomically(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, content, { mode: 0o644 });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}
