// The short chaos scenario of `make test` (the full table: `make chaos`, cli.ts), on the real
// processes (system.ts: PostgreSQL, Mosquitto and a server process, kept running by the devenv
// supervisor): the server is killed with SIGKILL under the load of firmware-like players and
// restarted by its supervisor; no request is lost and none is answered twice differently. And the
// acknowledgement rule behind it: a request received but not yet answered when the process dies
// is sent again by the broker to the restarted instance (the player does not retry here).
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playerRequestTopic } from '@makapix/contract/asyncapi/channels';
import { newRequestId } from '../../../conformance/src/sim/index.js';
import { startFleet, type Fleet } from './load.js';
import { tally } from './scenarios.js';
import { ChaosSystem } from './system.js';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
let system: ChaosSystem;
let fleet: Fleet;

/** Polls `ok` until it holds; fails the test after `timeoutMs`. */
async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  system = await ChaosSystem.start({ instances: 1, log: quiet });
  fleet = await startFleet(system.apiUrl, 3, 'test');
}, 180_000);

afterAll(async () => {
  await fleet?.close();
  await system?.stop();
}, 60_000);

const successesSince = (t: number) => [...fleet.ledger.requests.values()].filter((r) => r.sentAt >= t && r.answers.some((a) => a.success)).length;

describe('chaos: the server killed under load', () => {
  it('kill -9 of the only instance: restarted by its supervisor, every request answered, none twice differently', async () => {
    const start = Date.now();
    const load = fleet.drive(5);
    try {
      await until('answers before the fault', () => successesSince(start) >= 5, 30_000);
      const faultAt = Date.now();
      const restarted = system.servers[0]!.nextRestart();
      process.kill(system.servers[0]!.current.pid, 'SIGKILL');
      await restarted;
      const back = Date.now();
      await until('answers after the restart', () => successesSince(back) >= 5, 30_000);
      await load.stop(); // every request's last attempt is over
      await until('every request answered', () => fleet.ledger.unanswered().length === 0, 30_000);
      const r = tally('server-kill9', fleet.ledger, faultAt);
      expect(r.sent).toBeGreaterThan(10);
      expect({ lost: r.lost, duplicatedDifferent: r.duplicatedDifferent }).toEqual({ lost: 0, duplicatedDifferent: 0 });
      expect(r.recoverSeconds).not.toBeNull();
    } finally {
      await load.stop();
    }
  }, 180_000);

  it('a request received but not answered when the process dies is answered after the restart (PUBACK waits for the answer)', async () => {
    const sql = postgres(system.services.urls.database, { max: 2, onnotice: () => {} });
    let release!: () => void;
    const released = new Promise<void>((r) => { release = r; });
    try {
      const player = fleet.players[0]!;
      const key = player.playerKey!;
      // submit_reaction writes reactions: while the table is locked, the handlers wait
      const locked = new Promise<void>((resolveLocked, rejectLocked) => {
        sql.begin(async (tx) => {
          await tx`lock table reactions in access exclusive mode`;
          resolveLocked();
          await released;
        }).catch(rejectLocked);
      });
      await locked;
      const [post] = await sql<{ post_id: number }[]>`select post_id from posts order by post_id limit 1`;
      const ids = [newRequestId(), newRequestId(), newRequestId()];
      for (const id of ids) {
        fleet.ledger.sent({ id, type: 'submit_reaction', player: 0, sentAt: Date.now() });
        const payload = { request_type: 'submit_reaction', post_id: Number(post!.post_id), emoji: '🔥', request_id: id, player_key: key };
        await player.mqttClient!.publishAsync(playerRequestTopic.format({ player_key: key, request_id: id }), JSON.stringify(payload), { qos: 1 });
      }
      // the server received them: its handlers wait for the lock
      await until('handlers waiting on the lock', async () => {
        const [w] = await sql<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and application_name like 'makapix-server-%'`;
        return w!.n >= 1;
      }, 4_000).catch(async (err: Error) => {
        const rows = await sql`select application_name, state, wait_event_type, left(query, 60) as query from pg_stat_activity where datname = current_database()`;
        const answers = ids.map((id) => fleet.ledger.requests.get(id)!.answers.map((a) => a.json));
        throw new Error(`${err.message}; sessions: ${JSON.stringify(rows)}; answers: ${JSON.stringify(answers)}`);
      });
      const restarted = system.servers[0]!.nextRestart();
      process.kill(system.servers[0]!.current.pid, 'SIGKILL');
      release();
      await restarted;
      await until('the requests answered by the restarted instance', () => ids.every((id) => fleet.ledger.requests.get(id)!.answers.length > 0), 20_000);
      for (const id of ids) {
        const answers = fleet.ledger.requests.get(id)!.answers;
        expect(answers.map((a) => a.success), id).toEqual([true]);
      }
    } finally {
      release();
      await sql.end({ timeout: 5 });
    }
  }, 120_000);
});
