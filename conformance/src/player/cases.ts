// Player-mode cases. Heartbeat: a valid status within heartbeat + tolerance of the start and
// again within heartbeat + tolerance of that one. Commands: every command example is sent; after
// a show_artwork the next status reports its post, after the others the next status still comes.
// Requests: every request seen is valid, and each was subscribed for (see observer.ts). Statuses:
// every status of the run is valid with the key of its topic. Last will: after the player's
// connection is taken over, its offline will arrives.
import { playerRequestTopic } from '@makapix/contract/asyncapi/channels';
import { type CaseDef } from '../model/case.js';
import { describeValue } from '../model/describe.js';
import { examplesOf, messagesOnChannel } from '../examples/catalog.js';
import { RC_NO_MATCHING_SUBSCRIBERS } from './observer.js';
import { expectNextStatus, prepareCommand, sendCommand } from './commands.js';
import type { PlayerContext } from './context.js';

export function heartbeatCase(): CaseDef<PlayerContext> {
  return {
    name: 'player/status/heartbeat',
    features: ['heartbeat'],
    source: 'spec: channel playerStatus (a heartbeat every 30-60 s)',
    run: async (ctx, rec) => {
      const windowMs = ctx.heartbeatMs + ctx.toleranceMs;
      const topic = ctx.observer.statusTopic;
      let since = ctx.startedAt;
      let from = 0;
      for (const which of ['first', 'next']) {
        const s = await ctx.observer.waitStatus(from, () => true, since + windowMs);
        if (!s) {
          rec.mismatch({ topic, pointer: '', expected: `a status within ${windowMs} ms (${ctx.heartbeatMs} ms + ${ctx.toleranceMs} ms tolerance) of the ${which === 'first' ? 'start of the run' : 'previous status'}`, got: `nothing for ${Date.now() - since} ms` });
          return;
        }
        for (const p of s.problems) rec.mismatch(p);
        since = s.at;
        from = s.seq + 1;
      }
    },
  };
}

export function derivedPlayerCommandCases(): CaseDef<PlayerContext>[] {
  const out: CaseDef<PlayerContext>[] = [];
  for (const message of messagesOnChannel('playerCommand')) {
    for (const ex of examplesOf(message)) {
      const payload = (ex.payload as { command_type?: string; payload?: Record<string, unknown> });
      const bareShow = payload.command_type === 'show_artwork' && payload.payload?.storage_shard === undefined;
      out.push({
        name: `player/command/${ex.name}`,
        features: bareShow ? ['commands', 'show_artwork_1_0'] : ['commands'],
        source: `spec: ${ex.ref}`,
        run: async (ctx, rec) => {
          const cmd = prepareCommand(ctx, ex.payload);
          const sent = await sendCommand(ctx, rec, JSON.stringify(cmd));
          const postId = (cmd.payload as { post_id?: number } | undefined)?.post_id;
          await expectNextStatus(ctx, rec, sent, typeof postId === 'number' ? { current_post_id: postId, status: 'online' } : { status: 'online' });
        },
      });
    }
  }
  return out;
}

export function requestCases(): CaseDef<PlayerContext>[] {
  const waitFirst = async (ctx: PlayerContext) => ctx.observer.waitRequests(1, Date.now() + ctx.timeoutMs);
  return [
    {
      name: 'player/request/valid',
      features: ['requests'],
      source: 'spec: channel playerRequest (request schemas, key and request_id as in the topic)',
      run: async (ctx, rec) => {
        await waitFirst(ctx);
        if (!ctx.observer.requests.length) {
          rec.mismatch({ topic: playerRequestTopic.filter({ player_key: ctx.playerKey }), pointer: '', expected: `a request during the run (the first within ${ctx.timeoutMs} ms of this case)`, got: 'none' });
          return;
        }
        for (const r of ctx.observer.requests) for (const p of r.problems) rec.mismatch(p);
      },
    },
    {
      name: 'player/request/subscribed_before_request',
      features: ['requests', 'broker_reports_no_subscribers'],
      source: 'spec: channel playerResponse (the player subscribes response/# before publishing requests)',
      run: async (ctx, rec) => {
        await waitFirst(ctx);
        const answered = ctx.observer.requests.filter((r) => r.answerTopic);
        if (!answered.length) {
          rec.mismatch({ topic: '', pointer: '', expected: 'a request to answer', got: 'none' });
          return;
        }
        for (const r of answered) {
          if (r.answerRc === undefined) rec.mismatch({ topic: r.answerTopic!, pointer: '', expected: 'the PUBACK of the answer', got: 'none within 2000 ms' });
          else if (r.answerRc === RC_NO_MATCHING_SUBSCRIBERS) rec.mismatch({ topic: r.answerTopic!, pointer: '', expected: 'a subscription of the player matching its response topic when the answer was published, immediately after the request', got: 'PUBACK reason 0x10 (no matching subscribers): the answer was lost' });
          else if (r.answerRc >= 0x80) rec.mismatch({ topic: r.answerTopic!, pointer: '', expected: 'the answer accepted by the broker', got: `PUBACK reason 0x${r.answerRc.toString(16)}` });
        }
      },
    },
  ];
}

export function statusesValidCase(): CaseDef<PlayerContext> {
  return {
    name: 'player/status/valid',
    features: [],
    source: 'spec: channel playerStatus (PlayerStatus, key as in the topic)',
    run: async (ctx, rec) => {
      if (!ctx.observer.statuses.length) {
        rec.mismatch({ topic: ctx.observer.statusTopic, pointer: '', expected: 'at least one status during the run', got: 'none' });
        return;
      }
      for (const s of ctx.observer.statuses) for (const p of s.problems) rec.mismatch(p);
    },
  };
}

export function lastWillCase(): CaseDef<PlayerContext> {
  return {
    name: 'player/status/last_will',
    features: ['last_will'],
    source: 'spec: channel playerStatus (a last will {player_key, status: offline})',
    run: async (ctx, rec) => {
      const topic = ctx.observer.statusTopic;
      // Only a connected player has a will to lose: wait for its first status if none came yet.
      const windowMs = ctx.heartbeatMs + ctx.toleranceMs;
      if (!(await ctx.observer.waitStatus(0, (x) => x.payload?.status === 'online', Math.max(Date.now(), ctx.startedAt + windowMs)))) {
        rec.mismatch({ topic, pointer: '/status', expected: `"online" (a connected player) within ${windowMs} ms of the start`, got: 'no status' });
        return;
      }
      const from = ctx.observer.mark();
      await ctx.kick();
      const s = await ctx.observer.waitStatus(from, (x) => x.payload?.status === 'offline' || x.problems.length > 0, Date.now() + ctx.timeoutMs);
      if (!s) {
        const seen = ctx.observer.statuses.filter((x) => x.seq >= from).map((x) => describeValue(x.payload?.status));
        rec.mismatch({ topic, pointer: '/status', expected: `"offline" (the last will) within ${ctx.timeoutMs} ms of the disconnection`, got: seen.length ? `only ${seen.join(', ')}` : 'no status' });
        return;
      }
      for (const p of s.problems) rec.mismatch(p);
    },
  };
}
