// The server runs on any implementation of the broker-admin interface: a server instance built with
// a recording implementation (passed to startServer, beside the stack's Mosquitto one on the same
// database) serves REST, and bootstrap, password change, logout-all, player deletion and readiness
// go through it alone.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client } from '@makapix/contract/openapi/client';
import { certificateInfo } from '../../src/pki/index.js';
import {
  RevocationNotConfirmedError, type BrokerAdmin, type RevocationStatus, type WebCredentialGrant,
} from '../../src/broker/broker-admin.js';
import type { ServerHandle } from '../../src/main.js';
import { expectError, expectStatus } from '../support/assertions.js';
import { provisionPlayer, registerUser, startStack, TEST_PASSWORD, type Stack } from '../support/stack.js';

type Call =
  | { op: 'start' | 'close' }
  | { op: 'upsertWebUser'; grant: WebCredentialGrant }
  | { op: 'removeWebUser'; userId: string }
  | { op: 'revokePlayer'; playerKey: string; serials: string[] }
  | { op: 'kick'; clientId: string };

/** Records every call; revocations are confirmed unless `confirm` is false. */
class RecordingBrokerAdmin implements BrokerAdmin {
  readonly kind = 'recording';
  readonly webUsersUnavailable = null;
  readonly calls: Call[] = [];
  confirm = true;
  private pending = 0;

  async start() { this.calls.push({ op: 'start' }); }
  async close() { this.calls.push({ op: 'close' }); }
  async upsertWebUser(grant: WebCredentialGrant) { this.calls.push({ op: 'upsertWebUser', grant }); }
  async removeWebUser(userId: string) { this.calls.push({ op: 'removeWebUser', userId }); }
  async revokePlayer(playerKey: string, serials: readonly string[]) {
    this.calls.push({ op: 'revokePlayer', playerKey, serials: [...serials] });
    if (!this.confirm) {
      this.pending += serials.length;
      throw new RevocationNotConfirmedError('the recording broker does not confirm');
    }
  }
  async kick(clientId: string) { this.calls.push({ op: 'kick', clientId }); }
  revocationStatus(): RevocationStatus {
    return { inForce: this.pending === 0, pending: this.pending, since: this.pending ? new Date(0) : null, problem: this.pending ? 'not confirmed' : null };
  }
  connections() { return {}; }
  of<K extends Call['op']>(op: K): Extract<Call, { op: K }>[] {
    return this.calls.filter((c): c is Extract<Call, { op: K }> => c.op === op);
  }
}

let stack: Stack;
let recorder: RecordingBrokerAdmin;
let server: ServerHandle;
let api: Client;

beforeAll(async () => {
  stack = await startStack();
  recorder = new RecordingBrokerAdmin();
  server = await stack.addServer({}, { brokerAdmin: () => recorder });
  api = createClient(server.url);
});

afterAll(async () => {
  await stack?.stop();
});

describe('a server on another broker-admin implementation', () => {
  it('is built with it (started once) and serves', async () => {
    expect(server.ctx.brokerAdmin).toBe(recorder);
    expect(recorder.of('start')).toHaveLength(1);
    expect(expectStatus(await api.getReadiness(), 200).status).toBe('ok');
  });

  it('GET /mqtt/bootstrap creates the web user through it, with the ACL it hands out', async () => {
    const u = await registerUser(api);
    const b = expectStatus(await api.getMqttBootstrap({}, { token: u.token }), 200);
    const grant = recorder.of('upsertWebUser').find((c) => c.grant.userId === u.user_id)?.grant;
    expect(grant).toBeDefined();
    expect(grant!.password).toBe(b.password);
    expect(grant!.tokenHash).toBe(createHash('sha256').update(b.password).digest('hex'));
    expect(grant!.expiresAt.toISOString()).toBe(b.expires_at);
    expect([grant!.topics.own, grant!.topics.categories]).toEqual(b.topics.subscribe);
  });

  it('logout-all and a password change remove the web user through it', async () => {
    const u = await registerUser(api);
    expect(recorder.of('removeWebUser').filter((c) => c.userId === u.user_id)).toHaveLength(0);
    expect((await api.authLogoutAll({}, { token: u.token })).status).toBe(204);
    expect(recorder.of('removeWebUser').filter((c) => c.userId === u.user_id)).toHaveLength(1);

    const v = await registerUser(api);
    expectStatus(await api.authChangePassword({ body: { current_password: TEST_PASSWORD, new_password: 'a brand new passphrase' } }, { token: v.token }), 200);
    expect(recorder.of('removeWebUser').filter((c) => c.userId === v.user_id)).toHaveLength(1);
  });

  it('deleting a player revokes its certificate through it; unconfirmed, the API answers 503 and /readyz is unready', async () => {
    const owner = await registerUser(api);
    const p = await provisionPlayer(api, owner, 'Recorded');
    expect((await api.deletePlayer({ params: { sqid: owner.sqid, player_id: p.id } }, { token: owner.token })).status).toBe(204);
    expect(recorder.of('revokePlayer').filter((c) => c.playerKey === p.player_key))
      .toEqual([{ op: 'revokePlayer', playerKey: p.player_key, serials: [certificateInfo(p.cert_pem).serialHex] }]);

    recorder.confirm = false;
    const q = await provisionPlayer(api, owner, 'Unconfirmed');
    expectError(await api.deletePlayer({ params: { sqid: owner.sqid, player_id: q.id } }, { token: owner.token }), 503, 'internal_error', /not confirmed yet/);
    expect(recorder.of('revokePlayer').map((c) => c.playerKey)).toContain(q.player_key);
    expect(expectStatus(await api.getReadiness(), 503).revocations).toBe(false);
    // the stack's Mosquitto-backed instance was not involved
    expect(stack.server.ctx.brokerAdmin.revocationStatus().inForce).toBe(true);
  });

  it('is closed when the server stops', async () => {
    const second = new RecordingBrokerAdmin();
    const s = await stack.addServer({}, { brokerAdmin: () => second, workers: false });
    await s.stop();
    stack.servers.splice(stack.servers.indexOf(s), 1);
    expect(second.calls.map((c) => c.op)).toEqual(['start', 'close']);
  });
});
