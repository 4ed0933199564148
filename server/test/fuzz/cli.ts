// `make fuzz`: a longer fuzz run than the one in `make test`, with its own stack.
//   npx tsx server/test/fuzz/cli.ts [--mqtt 20000] [--rest 10000] [--seed 1] [--concurrency 16]
// Prints what was sent and how it was answered, then every problem; exits 1 if there was one.
import { encodeUserId } from '../../src/ids/sqid.js';
import { connectTestPlayer } from '../mqtt/helpers.js';
import { createPosts, createUser } from '../support/fixtures.js';
import { startStack } from '../support/stack.js';
import { runFuzz } from './run-fuzz.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isSafeInteger(v) || v < 0) throw new Error(`--${name} must be a non-negative integer (got ${process.argv[i + 1]})`);
  return v;
}

const opts = { mqttCases: arg('mqtt', 20_000), restCases: arg('rest', 10_000), seed: arg('seed', 1), concurrency: arg('concurrency', 16) };
const stack = await startStack({ env: { RATE_LIMIT_PLAYER_PER_MINUTE: '1000000', RATE_LIMIT_USER_PER_MINUTE: '1000000', RATE_LIMIT_PROVISION_PER_MINUTE: '1000000' } });
let failed = true;
try {
  const owner = await createUser(stack);
  const postIds = (await createPosts(stack.server.ctx.sql, owner.id, 5)).map((p) => p.post_id);
  const conn = await connectTestPlayer(stack, owner);
  const started = Date.now();
  const report = await runFuzz(stack, conn, owner.token, { postIds, sqid: encodeUserId(owner.id), playerId: conn.player.id }, {
    ...opts, freshPlayer: () => connectTestPlayer(stack, owner),
  });
  await conn.close();
  const sorted = (m: Record<string, number>) => Object.entries(m).sort(([, a], [, b]) => b - a).map(([k, n]) => `${k} ${n}`).join(', ');
  console.log(`fuzz seed ${opts.seed}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`MQTT: ${report.mqtt.sent} sent, ${report.mqtt.answered} answered: ${sorted(report.mqtt.outcomes)}`);
  console.log(`REST: ${report.rest.sent} sent: ${sorted(report.rest.statuses)}`);
  console.log(`still serving afterwards: ${report.healthyAfter ? 'yes' : 'NO'}`);
  console.log(`${report.problems.length} problems`);
  for (const p of report.problems.slice(0, 50)) console.log(`  ${p}`);
  failed = report.problems.length > 0 || !report.healthyAfter;
} finally {
  await stack.stop();
}
process.exit(failed ? 1 : 0);
