// Sending commands to a player and checking the status that follows.
import { PlayerCommandMessageValidator } from '@makapix/contract/asyncapi/channels';
import type { ConnectionStatus } from '@makapix/contract/components/identifiers';
import type { CaseRecorder } from '../model/case.js';
import { describeValue } from '../model/describe.js';
import type { JsonObject } from '../examples/catalog.js';
import { freshCommand } from '../examples/substitute.js';
import { reproPublish } from '../report/repro.js';
import type { PlayerContext } from './context.js';

/** A command example made ready to send: fresh command_id and timestamp, art_url override. */
export function prepareCommand(ctx: PlayerContext, example: JsonObject): JsonObject {
  const cmd = freshCommand(example);
  const payload = cmd.payload;
  if (ctx.artUrl && payload && typeof payload === 'object' && !Array.isArray(payload) && 'art_url' in payload) payload.art_url = ctx.artUrl;
  return cmd;
}

export async function sendCommand(ctx: PlayerContext, rec: CaseRecorder, text: string): Promise<{ from: number; sentAt: number }> {
  rec.addReproduce(reproPublish(ctx.repro, ctx.observer.commandTopic, text));
  const from = ctx.observer.mark();
  const sentAt = Date.now();
  await ctx.observer.publish(ctx.observer.commandTopic, text);
  return { from, sentAt };
}

export function isValidCommand(payload: unknown): boolean {
  return PlayerCommandMessageValidator.check(payload);
}

export interface StatusWant {
  current_post_id?: number | null;
  status?: ConnectionStatus;
}

/**
 * The next status after a command must show its effect. A status within graceMs of the command
 * may have been sent before the player processed it and is not held against it.
 */
export async function expectNextStatus(ctx: PlayerContext, rec: CaseRecorder, sent: { from: number; sentAt: number }, want: StatusWant): Promise<void> {
  const windowMs = ctx.heartbeatMs + ctx.toleranceMs;
  const deadline = sent.sentAt + windowMs;
  const topic = ctx.observer.statusTopic;
  const matches = (p: JsonObject | undefined) =>
    p !== undefined && (want.current_post_id === undefined || p.current_post_id === want.current_post_id) && (want.status === undefined || p.status === want.status);
  const wantText = [want.current_post_id !== undefined ? `current_post_id ${describeValue(want.current_post_id)}` : '', want.status ? `status ${describeValue(want.status)}` : '']
    .filter(Boolean).join(' and ') || 'a valid payload';
  let from = sent.from;
  for (;;) {
    const s = await ctx.observer.waitStatus(from, () => true, deadline);
    if (!s) {
      rec.mismatch({ topic, pointer: '', expected: `a status with ${wantText} within ${windowMs} ms of the command`, got: 'no status' });
      return;
    }
    from = s.seq + 1;
    for (const p of s.problems) rec.mismatch(p);
    if (s.problems.length) return;
    if (matches(s.payload)) return;
    if (s.at - sent.sentAt > ctx.graceMs) {
      const pointer = want.current_post_id !== undefined && s.payload?.current_post_id !== want.current_post_id ? '/current_post_id' : '/status';
      const key = pointer.slice(1);
      rec.mismatch({ topic, pointer, expected: `${describeValue(key === 'status' ? want.status : want.current_post_id)} (the next status after the command)`, got: describeValue(s.payload?.[key]) });
      return;
    }
  }
}
