// Web users' broker accounts (dynamic security on the WebSocket listener; facts in
// server/devenv/README.md). One broker client per user (username = user_id) with the base role
// (category notifications) and a role of its own (its follow notifications), created or updated
// when GET /mqtt/bootstrap issues a credential. A periodic sweep deletes the broker clients (and
// roles) whose credential expired or disappeared (deleteClient also ends the live session).
// Commands go through the one dynamic-security client (broker/dynsec-client.ts), batched: each
// $CONTROL round trip costs ~100 ms.
import type { Logger } from 'pino';
import type { Sql } from '../../db/index.js';
import {
  deleteExpiredWebCredentials, liveWebUsernames, lockForIssue, lockForSweep, upsertWebCredential,
} from '../../db/web-credentials.js';
import type { WebCredentialGrant, WebUserTopics } from '../broker-admin.js';
import type { DynsecClient, DynsecCommand, DynsecResponse } from '../dynsec-client.js';

/** Role every web user gets (it exists in the dev broker; created here when absent). */
export const WEB_USER_BASE_ROLE = 'web-user-base';
const WEB_USER_ROLE_PREFIX = 'web-user-';

const SWEEP_INTERVAL_MS = 60_000;
const DYNSEC_BATCH = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The per-user role of a web user. */
export function webUserRole(userId: string): string {
  return `${WEB_USER_ROLE_PREFIX}${userId}`;
}

export interface WebUserAccountsDeps {
  sql: Sql;
  /** The dynamic-security admin connection on the WebSocket listener. */
  dynsec: DynsecClient;
  log: Logger;
}

export class WebUserAccounts {
  private baseRoleEnsured = false;
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> | null = null;
  private closed = false;

  constructor(private readonly deps: WebUserAccountsDeps) {}

  /** Starts the periodic sweep of expired credentials (a first one right away). */
  start(): void {
    this.sweepSoon();
    this.sweepTimer = setInterval(() => this.sweepSoon(), SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  /** Stops the sweep (waiting for a running one). The dynamic-security client is its owner's to close. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    await this.sweeping?.catch(() => undefined);
  }

  /**
   * Stores the credential (hash + expiry) and creates or updates the user's broker client with
   * the new password, in one transaction: a failure on the broker keeps the previous credential.
   * Setting the password ends a live session that used the previous one (the plugin kicks it).
   */
  async issueWebCredential(g: WebCredentialGrant): Promise<void> {
    await this.deps.sql.begin(async (tx) => {
      await lockForIssue(tx);
      await upsertWebCredential(tx, { userId: g.userInternalId, username: g.userId, tokenHash: g.tokenHash, expiresAt: g.expiresAt });
      await this.upsertDynsecUser(g.userId, g.password, g.topics);
    });
  }

  /**
   * Deletes the user's broker client, which ends a live session and refuses its password from now
   * on (password change, logout-all; the caller deleted the credential row already, so a failure
   * here is repaired by the next sweep). A user without a client is fine.
   */
  async dropWebClient(userId: string): Promise<void> {
    await this.deps.dynsec.run([{ command: 'deleteClient', username: userId }], {
      tolerate: (r) => r.command === 'deleteClient' && /not found/i.test(r.error ?? ''),
    });
  }

  private async upsertDynsecUser(userId: string, password: string, { own, categories }: WebUserTopics): Promise<void> {
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
    await this.deps.dynsec.run(commands, { tolerate: (r) => tolerated.get(r.command) === r.error });
    this.baseRoleEnsured = true;
  }

  private sweepSoon(): void {
    if (this.closed || this.sweeping) return;
    const log = this.deps.log;
    this.sweeping = this.sweepWebCredentials()
      .then((deleted) => {
        if (deleted.length) log.info({ count: deleted.length }, 'expired WebSocket MQTT credentials removed from the broker');
      })
      .catch((err) => log.warn({ err: (err as Error).message }, 'web credential sweep failed'))
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
    const { sql, dynsec, log } = this.deps;
    return sql.begin(async (tx) => {
      await lockForSweep(tx);
      const [clientList, roleList] = await dynsec.send([
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
        const responses = await dynsec.send(commands.slice(i, i + DYNSEC_BATCH));
        for (const r of responses) if (r.error) log.warn({ command: r.command, error: r.error }, 'dynamic security sweep command failed');
      }
      return staleClients;
    }) as Promise<string[]>;
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
