// A database outage under MQTT requests (issue: retry storms): with PostgreSQL stopped, every
// request is answered internal_error well inside the firmware's 10 s retry (fail fast, never
// stored), device retries of the same request_id are not counted twice, and once PostgreSQL is
// back the same requests succeed, with no rate_limit_exceeded caused by the outage.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { playerRequestTopic } from '@makapix/contract/asyncapi/channels';
import { startPostgres, type Postgres } from '../../devenv/postgres.js';
import { createUser } from '../support/fixtures.js';
import { startStack, type Stack } from '../support/stack.js';
import { connectTestPlayer, eventually, rid, type TestConnection } from './helpers.js';

let stack: Stack;
let conn: TestConnection;
let restarted: Postgres | undefined;

beforeAll(async () => {
  // a tight per-player limit: the requests and retries below stay inside it only if nothing is counted twice
  stack = await startStack({ env: { RATE_LIMIT_PLAYER_PER_MINUTE: '40', RATE_LIMIT_WINDOW_SECONDS: '3600' } });
  conn = await connectTestPlayer(stack, await createUser(stack));
});
afterAll(async () => {
  await conn?.close();
  await stack?.stop();
  await restarted?.stop();
});

const query = (id: string) => ({ request_id: id, request_type: 'query_posts', player_key: conn.player.player_key });
const send = (id: string) => conn.client.publishAsync(playerRequestTopic.format({ player_key: conn.player.player_key, request_id: id }), JSON.stringify(query(id)), { qos: 1 });

it('answers fast during the outage, counts no retry twice, and serves the same requests after it', async () => {
  const first = rid();
  expect(await conn.raw(first, query(first))).toMatchObject({ success: true });
  const pg = stack.services.database.postgres!;
  await pg.stop();

  const ids = Array.from({ length: 12 }, () => rid());
  const started = Date.now();
  for (const id of ids) await send(id);
  const answers = await Promise.all(ids.map(async (id) => (await conn.responses.wait(id, 1, 9_000))[0]!));
  const outage = answers.map((a) => a.body);
  expect(outage.every((b) => b.success === false && b.error_code === 'internal_error'), JSON.stringify(outage)).toBe(true);
  // every answer came before the firmware's 10 s retry (the deadline is 5 s; most fail at once)
  expect(Date.now() - started).toBeLessThan(9_000);

  // the device retries the same ids while the database is still down: answered again, still internal_error
  for (const id of ids.slice(0, 6)) await send(id);
  for (const id of ids.slice(0, 6)) expect((await conn.responses.wait(id, 2, 9_000))[1]!.body).toMatchObject({ error_code: 'internal_error' });

  restarted = await startPostgres({ dir: pg.dir, port: pg.port, database: pg.database, forTests: true });
  // once the breaker's probe gets through, the retries of the same ids are handled
  await eventually(async () => {
    const id = rid();
    await send(id);
    return (await conn.responses.wait(id, 1, 9_000))[0]!.body.success === true;
  }, 30_000, 200);
  for (const id of ids) await send(id);
  const after = await Promise.all(ids.map(async (id) => (await conn.responses.wait(id, ids.indexOf(id) < 6 ? 3 : 2, 9_000)).at(-1)!.body));
  expect(after.map((b) => b.success === true ? 'success' : String(b.error_code))).toEqual(ids.map(() => 'success'));
}, 120_000);
