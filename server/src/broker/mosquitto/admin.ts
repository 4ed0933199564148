// BROKER_ADMIN=mosquitto (the default): the broker-admin interface for the embedded Mosquitto 2.0
// (facts in server/devenv/README.md).
// - Web users: dynamic-security clients on the WebSocket listener (web-users.ts, through the
//   dynsec admin account MQTT_DYNSEC_ADMIN_USERNAME/PASSWORD; without it no web user gets
//   credentials), with a periodic sweep of expired ones.
// - Revocation: CRL file rewrite, SIGHUP to the broker named by its PID file, confirmation by a
//   probe certificate, then a kick (revocation-publisher.ts).
// - Kick: session takeover from the internal listener (../kick.ts).
import { DynsecClient } from '../dynsec-client.js';
import type { BrokerAdmin, BrokerAdminDeps, RevocationStatus, WebCredentialGrant } from '../broker-admin.js';
import { RevocationPublisher } from './revocation-publisher.js';
import { WebUserAccounts } from './web-users.js';

export class MosquittoBrokerAdmin implements BrokerAdmin {
  readonly kind = 'mosquitto';
  readonly webUsersUnavailable: string | null;
  /** Ends deleted players' access (CRL, reload, confirmation, kick). */
  readonly revocations: RevocationPublisher;
  /** Web users' dynamic-security accounts; null without a dynamic-security admin account. */
  readonly webUsers: WebUserAccounts | null;
  /** The dynamic-security admin connection (opened on use). */
  private readonly dynsec: DynsecClient | null;

  constructor(private readonly deps: BrokerAdminDeps) {
    const { config, sql, ca, router, log, now } = deps;
    this.revocations = new RevocationPublisher({ broker: config.broker, sql, ca, router, log, now });
    const admin = config.broker.dynsecAdmin;
    if (admin === null) {
      this.webUsersUnavailable = 'WebSocket MQTT credentials are unavailable: the server has no dynamic-security admin account (set MQTT_DYNSEC_ADMIN_USERNAME and MQTT_DYNSEC_ADMIN_PASSWORD)';
      this.dynsec = null;
      this.webUsers = null;
    } else {
      this.webUsersUnavailable = null;
      this.dynsec = new DynsecClient({
        url: config.broker.websocketUrl, username: admin.username, password: admin.password,
        onConnectionError: (err) => log.warn({ err: err.message }, 'dynamic-security admin connection error'),
      });
      this.webUsers = new WebUserAccounts({ sql, dynsec: this.dynsec, log });
    }
  }

  /** Enforces the recorded revocations (not confirmed: retried in the background), then starts the web-user sweep. */
  async start(): Promise<void> {
    await this.revocations.start();
    if (this.webUsers === null) {
      this.deps.log.warn('MQTT_DYNSEC_ADMIN_USERNAME/PASSWORD are not set: GET /mqtt/bootstrap cannot issue WebSocket credentials');
    } else {
      this.webUsers.start();
    }
  }

  async close(): Promise<void> {
    const steps = [() => this.webUsers?.close(), () => this.dynsec?.close(), () => this.revocations.close()];
    for (const step of steps) await Promise.resolve().then(step).catch((err) => this.deps.log.warn({ err }, 'broker admin shutdown step failed'));
  }

  async upsertWebUser(grant: WebCredentialGrant): Promise<void> {
    if (this.webUsers === null) throw new Error(this.webUsersUnavailable!);
    await this.webUsers.issueWebCredential(grant);
  }

  async removeWebUser(userId: string): Promise<void> {
    await this.webUsers?.dropWebClient(userId);
  }

  revokePlayer(playerKey: string, serials: readonly string[]): Promise<void> {
    return this.revocations.revokePlayer(playerKey, serials);
  }

  kick(clientId: string): Promise<void> {
    return this.revocations.kickClient(clientId);
  }

  revocationStatus(): RevocationStatus {
    return this.revocations.status();
  }

  connections(): { dynsec_admin?: boolean } {
    return this.dynsec ? { dynsec_admin: this.dynsec.connected } : {};
  }
}
