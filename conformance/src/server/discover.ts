// MQTT-only runs (`server --cert --key --player-key`): find the target's posts with query_posts
// and map the example world onto them. The player's own posts (channel `user`) play the owner's
// example posts; other users' posts, grouped by owner, play the other example users' posts.
import { CaseRecorder } from '../model/case.js';
import { requestExamples, type JsonObject } from '../examples/catalog.js';
import { MAX_POST_ID, newRequestId, type DataMap } from '../examples/substitute.js';
import { exampleWorld } from '../examples/world.js';
import { playerCommandTopic, playerRequestTopic } from '@makapix/contract/asyncapi/channels';
import { QueryPostsRequestBounds, type QueryPostsChannel } from '@makapix/contract/asyncapi/schemas';
import { exchange, type ExchangeContext } from './exchange.js';

export interface Discovery {
  map: DataMap;
  notes: string[];
}

async function listPosts(ctx: ExchangeContext, channel: QueryPostsChannel, notes: string[]): Promise<JsonObject[]> {
  const base = requestExamples().find((r) => r.payload.channel === channel && r.answer?.success) ?? requestExamples().find((r) => r.requestType === 'query_posts');
  if (!base) return [];
  const requestId = newRequestId();
  const payload: JsonObject = { ...base.payload, request_id: requestId, player_key: ctx.session.playerKey, channel, limit: QueryPostsRequestBounds.limit.maximum };
  delete payload.cursor;
  delete payload.user_handle;
  const rec = new CaseRecorder();
  const r = await exchange(ctx, rec, { text: JSON.stringify(payload), topicRequestId: requestId, requestType: 'query_posts', expect: { success: true } });
  if (!r.answer) notes.push(`discovery: query_posts channel ${channel}: ${rec.mismatches.map((m) => `${m.pointer || '(message)'} expected ${m.expected}, got ${m.got}`).join('; ')}`);
  // Use what the answer lists even when it has other faults (the cases report those).
  const posts = (r.raw as { posts?: unknown } | undefined)?.posts;
  return Array.isArray(posts) ? (posts as JsonObject[]).filter((p) => p !== null && typeof p === 'object' && typeof p.post_id === 'number') : [];
}

export async function discoverPosts(ctx: ExchangeContext, runToken: string): Promise<Discovery> {
  const world = exampleWorld();
  const notes: string[] = [];
  const own = await listPosts(ctx, 'user', notes);
  const everything = await listPosts(ctx, 'all', notes);
  const ownIds = new Set(own.map((p) => Number(p.post_id)));
  const ownerHandle = typeof own[0]?.owner_handle === 'string' ? own[0].owner_handle : undefined;
  const othersByHandle = new Map<string, JsonObject[]>();
  for (const p of everything) {
    if (ownIds.has(Number(p.post_id)) || p.owner_handle === ownerHandle) continue;
    const list = othersByHandle.get(String(p.owner_handle)) ?? [];
    list.push(p);
    othersByHandle.set(String(p.owner_handle), list);
  }
  const posts = new Map<number, number>();
  const handles = new Map<string, string>();
  const assign = (examples: JsonObject[], real: JsonObject[]) => {
    // Both lists newest id first, so that the example order survives.
    const ex = [...examples].sort((a, b) => Number(b.post_id) - Number(a.post_id));
    const re = [...real].sort((a, b) => Number(b.post_id) - Number(a.post_id));
    ex.forEach((p, i) => {
      if (re.length) posts.set(Number(p.post_id), Number(re[Math.min(i, re.length - 1)].post_id));
    });
  };
  const exampleOwn = [...world.posts.values()].filter((p) => p.owner_handle === world.ownerHandle);
  assign(exampleOwn, own);
  if (world.ownerHandle && ownerHandle) handles.set(world.ownerHandle, ownerHandle);
  const exampleOthers = new Map<string, JsonObject[]>();
  for (const p of world.posts.values()) {
    if (p.owner_handle === world.ownerHandle) continue;
    const list = exampleOthers.get(String(p.owner_handle)) ?? [];
    list.push(p);
    exampleOthers.set(String(p.owner_handle), list);
  }
  const realGroups = [...othersByHandle.entries()].sort((a, b) => b[1].length - a[1].length);
  const exampleGroups = [...exampleOthers.entries()].sort((a, b) => b[1].length - a[1].length);
  exampleGroups.forEach(([handle, list], i) => {
    const real = realGroups[i];
    if (!real) return;
    assign(list, real[1]);
    handles.set(handle, real[0]);
  });
  if (!own.length) notes.push('discovery: the player\'s owner has no posts; cases about own posts are skipped');
  if (!realGroups.length) notes.push('discovery: no post of another user found; cases about other users\' posts are skipped');
  return { map: { playerKey: ctx.session.playerKey, posts, handles, missingPostId: MAX_POST_ID, runToken }, notes };
}

/**
 * Whether anything answers: a query_posts request (the spec's first example) must get some message
 * on the player's response topics within the timeout. Nothing at all means no server is listening.
 */
export async function probe(ctx: ExchangeContext): Promise<boolean> {
  const base = requestExamples().find((r) => r.requestType === 'query_posts');
  const requestId = newRequestId();
  const payload = { ...base?.payload, request_id: requestId, player_key: ctx.session.playerKey };
  const from = ctx.session.mark();
  await ctx.session.publish(playerRequestTopic.format({ player_key: ctx.session.playerKey, request_id: requestId }), JSON.stringify(payload));
  const commandTopic = playerCommandTopic.format({ player_key: ctx.session.playerKey });
  return (await ctx.session.waitFor((m) => m.topic !== commandTopic, from, ctx.timeoutMs)) !== undefined;
}
