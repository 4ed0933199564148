// Cases derived from the status examples (needs feature rest): the player publishes each example
// on its status topic and the owner must see it through REST (connection_status, current_post_id,
// firmware_version). The example an exception marks `deliver_as: last_will` is delivered as the
// MQTT last will of a connection that drops.
import { playerStatusTopic } from '@makapix/contract/asyncapi/channels';
import { StopCase, type CaseDef, type CaseRecorder } from '../model/case.js';
import { describeValue } from '../model/describe.js';
import { examplesOf, messagesOnChannel, type JsonObject } from '../examples/catalog.js';
import { substitute } from '../examples/substitute.js';
import type { ExceptionSpec } from '../cases/schema.js';
import { reproPublish } from '../report/repro.js';
import type { ServerContext } from './context.js';
import { pollUntil } from './rest-checks.js';

const REST_FIELDS: [string, string][] = [['status', 'connection_status'], ['current_post_id', 'current_post_id'], ['firmware_version', 'firmware_version']];

/** Waits until getPlayer shows what the status payload says; records the differences left at the timeout. */
async function expectSeen(ctx: ServerContext, rec: CaseRecorder, status: JsonObject): Promise<boolean> {
  const rest = ctx.rest!;
  const want = REST_FIELDS.filter(([from]) => from in status).map(([from, to]) => [to, status[from]] as const);
  let lastStatus = 0;
  const diffs = await pollUntil(
    () => rest.api.getPlayer({ params: { sqid: rest.owner.sqid, player_id: rest.playerId } }, { token: rest.owner.token }),
    (r) => {
      lastStatus = r.status;
      if (r.status !== 200) return [{ pointer: '', expected: 'HTTP 200', got: `HTTP ${r.status}` }];
      const body = r.body as Record<string, unknown>;
      return want.filter(([k, v]) => JSON.stringify(body[k]) !== JSON.stringify(v)).map(([k, v]) => ({ pointer: `/${k}`, expected: v, got: body[k] }));
    },
    ctx.timeoutMs,
  );
  for (const d of diffs) {
    rec.mismatch({ topic: 'REST getPlayer', pointer: d.pointer, expected: `${typeof d.expected === 'string' && d.pointer === '' ? d.expected : describeValue(d.expected)} (within ${ctx.timeoutMs} ms of the status)`, got: lastStatus === 200 ? describeValue(d.got) : String(d.got) });
  }
  return diffs.length === 0;
}

export function derivedStatusCases(exceptions: readonly ExceptionSpec[]): CaseDef<ServerContext>[] {
  const out: CaseDef<ServerContext>[] = [];
  const messages = messagesOnChannel('playerStatus');
  const all = messages.flatMap((m) => examplesOf(m));
  const online = all.find((e) => e.payload.status === 'online');
  for (const ex of all) {
    const exception = exceptions.find((e) => e.example === ex.ref);
    if (exception?.replaced_by) continue;
    const asWill = exception?.deliver_as === 'last_will';
    out.push({
      name: `server/mqtt/status/${ex.name}`,
      features: ['mqtt', 'rest', ...(exception?.features ?? [])],
      source: `spec: ${ex.ref}`,
      run: async (ctx, rec) => {
        const topic = playerStatusTopic.format({ player_key: ctx.session.playerKey });
        const payload = substitute(ex.payload, ctx.map);
        const text = JSON.stringify(payload);
        if (!asWill) {
          rec.addReproduce(reproPublish(ctx.repro, topic, text));
          await ctx.session.publish(topic, text);
          await expectSeen(ctx, rec, payload);
          return;
        }
        // Reconnect with the example as the will, be seen online, then drop the connection.
        await ctx.session.close();
        await ctx.session.connect({ topic, payload: text });
        try {
          if (online) {
            const first = substitute(online.payload, ctx.map);
            await ctx.session.publish(topic, JSON.stringify(first));
            if (!(await expectSeen(ctx, rec, first))) throw new StopCase();
          }
          await ctx.session.drop();
          await expectSeen(ctx, rec, payload);
        } finally {
          await ctx.session.close();
          await ctx.session.connect();
        }
      },
    });
  }
  return out;
}
