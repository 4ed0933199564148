// Cases derived from the notification examples (needs features rest and notifications): a web
// client of the owner connects over WebSocket with GET /mqtt/bootstrap. An unpromoted example
// (new post) is produced by a user the owner follows creating the same post; a promoted example
// by a moderator promoting the post to the example's category (feature moderator). The
// notification must arrive on its topic, valid, describing the real post, exactly once.
import mqtt, { type MqttClient } from 'mqtt';
import { PostNotificationValidator, postNewForFollowerTopic, postNewInCategoryTopic } from '@makapix/contract/asyncapi/channels';
import { StopCase, type CaseDef, type CaseRecorder } from '../model/case.js';
import { describeValue, expectationOf, valueAt } from '../model/describe.js';
import { PromotionCategoryValues } from '@makapix/contract/components/identifiers';
import { examplesOf, isOneOf, messagesOnChannel } from '../examples/catalog.js';
import { mapPostId } from '../examples/substitute.js';
import type { ServerContext } from './context.js';
import { createPostBody } from './rest-bodies.js';
import { curlRepro, restOk } from './rest-checks.js';
import { closeClient } from '../run/close-client.js';

interface Received {
  topic: string;
  text: string;
}

async function connectWeb(ctx: ServerContext, rec: CaseRecorder): Promise<{ client: MqttClient; received: Received[] }> {
  const rest = ctx.rest!;
  const b = await rest.api.getMqttBootstrap({}, { token: rest.owner.token });
  if (!restOk(rec, 'getMqttBootstrap', b, 200)) throw new StopCase();
  const boot = b.body as { websocket_url: string; username: string; password: string };
  let client: MqttClient;
  try {
    client = await mqtt.connectAsync(boot.websocket_url, { protocolVersion: 5, username: boot.username, password: boot.password, reconnectPeriod: 0, connectTimeout: ctx.timeoutMs });
  } catch (err) {
    rec.mismatch({ topic: boot.websocket_url, pointer: '', expected: 'a WebSocket MQTT connection with the bootstrap credentials', got: (err as Error).message });
    throw new StopCase();
  }
  const received: Received[] = [];
  client.on('message', (topic, payload) => {
    ctx.log?.(`< (web) ${topic} ${payload.toString('utf8')}`);
    received.push({ topic, text: payload.toString('utf8') });
  });
  return { client, received };
}

async function waitForTopic(received: Received[], topic: string, timeoutMs: number): Promise<Received | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = received.find((r) => r.topic === topic);
    if (m || Date.now() >= deadline) return m;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function checkNotification(rec: CaseRecorder, m: Received, want: [string, unknown][]): void {
  let raw: unknown;
  try {
    raw = JSON.parse(m.text);
  } catch (err) {
    rec.mismatch({ topic: m.topic, pointer: '', expected: 'UTF-8 JSON', got: (err as Error).message });
    return;
  }
  for (const i of PostNotificationValidator.issues(raw)) rec.mismatch({ topic: m.topic, pointer: i.pointer, expected: expectationOf(i.message), got: describeValue(valueAt(raw, i.pointer)) });
  for (const [pointer, v] of want) {
    const have = valueAt(raw, pointer);
    if (JSON.stringify(have) !== JSON.stringify(v)) rec.mismatch({ topic: m.topic, pointer, expected: describeValue(v), got: describeValue(have) });
  }
}

export function derivedNotificationCases(): CaseDef<ServerContext>[] {
  const out: CaseDef<ServerContext>[] = [];
  const messages = [...new Set([...messagesOnChannel('postNewForFollower'), ...messagesOnChannel('postNewInCategory')])];
  for (const ex of messages.flatMap((m) => examplesOf(m))) {
    const category = isOneOf(PromotionCategoryValues, ex.payload.promoted_category) ? ex.payload.promoted_category : undefined;
    const promoted = category !== undefined;
    out.push({
      name: `server/mqtt/notification/${ex.name}`,
      features: ['mqtt', 'rest', 'notifications', ...(promoted ? ['moderator'] : [])],
      source: `spec: ${ex.ref}`,
      run: async (ctx, rec) => {
        const rest = ctx.rest!;
        const { client, received } = await connectWeb(ctx, rec);
        try {
          if (category === undefined) {
            const author = rest.followed;
            if (!author) throw new StopCase();
            await client.subscribeAsync(postNewForFollowerTopic.filterRest({ follower_id: rest.owner.user_id }), { qos: 1 });
            const [w, h] = String(ex.payload.canvas).split('x').map(Number);
            const body = createPostBody(ex.payload, { width: ex.payload.width ?? w, height: ex.payload.height ?? h });
            rec.addReproduce(curlRepro(rest, 'POST', '/post', author.token, body));
            const r = await rest.api.createPost({ body }, { token: author.token });
            if (!restOk(rec, 'createPost', r, 201)) throw new StopCase();
            const post = r.body as { post_id: number; created_at: string; title: string; art_url: string; canvas: string };
            rest.posts.set(post.post_id, r.body as never);
            const topic = postNewForFollowerTopic.format({ follower_id: rest.owner.user_id, post_id: post.post_id });
            const m = await waitForTopic(received, topic, ctx.timeoutMs);
            if (!m) {
              const others = received.map((x) => x.topic);
              rec.mismatch({ topic, pointer: '', expected: `the notification within ${ctx.timeoutMs} ms`, got: others.length ? `nothing there; messages on ${others.join(', ')}` : 'nothing' });
              return;
            }
            checkNotification(rec, m, [
              ['/post_id', post.post_id], ['/owner_id', author.user_id], ['/owner_handle', author.handle], ['/title', post.title],
              ['/art_url', post.art_url], ['/canvas', post.canvas], ['/promoted_category', null], ['/created_at', post.created_at],
            ]);
            return;
          }
          const moderator = rest.moderator!;
          const examplePost = ex.payload.post_id;
          const postId = typeof examplePost === 'number' ? mapPostId(examplePost, ctx.map) : [...rest.posts.keys()][0];
          await client.subscribeAsync(postNewInCategoryTopic.filterRest({}), { qos: 1 });
          const body = { category };
          rec.addReproduce(curlRepro(rest, 'POST', `/post/${postId}/promote`, moderator.token, body));
          const r = await rest.api.promotePost({ params: { post_id: postId }, body }, { token: moderator.token });
          if (!restOk(rec, 'promotePost', r, 200)) throw new StopCase();
          const topic = postNewInCategoryTopic.format({ category, post_id: postId });
          const m = await waitForTopic(received, topic, ctx.timeoutMs);
          if (!m) {
            rec.mismatch({ topic, pointer: '', expected: `the notification within ${ctx.timeoutMs} ms`, got: received.length ? `nothing there; messages on ${received.map((x) => x.topic).join(', ')}` : 'nothing' });
            return;
          }
          const post = rest.posts.get(postId);
          checkNotification(rec, m, [['/post_id', postId], ['/promoted_category', category], ...(post ? ([['/title', post.title], ['/art_url', post.art_url], ['/canvas', post.canvas]] as [string, unknown][]) : [])]);
          // Published once per promotion, not once per follower of the category.
          await new Promise((res) => setTimeout(res, 500));
          const copies = received.filter((x) => x.topic === topic).length;
          if (copies !== 1) rec.mismatch({ topic, pointer: '', expected: 'exactly 1 message per promotion', got: `${copies} messages` });
        } finally {
          await closeClient(client);
        }
      },
    });
  }
  return out;
}
