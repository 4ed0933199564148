// MQTT for web clients: WebSocket credentials (a fresh password per call, checked by the broker's
// dynamic-security plugin until it expires) and a demo notification to check a connection.
import { createHash, randomBytes } from 'node:crypto';
import { postNewForFollowerTopic } from '@makapix/contract/asyncapi/channels';
import { messageExamples } from '@makapix/contract/asyncapi/examples';
import { publishPostNewForFollower } from '@makapix/contract/asyncapi/operations';
import type { PostNotification } from '@makapix/contract/asyncapi/schemas';
import { restError, type Handlers } from '@makapix/contract/openapi/routes';
import type { AppContext } from '../context.js';
import { throttle } from './throttle.js';
import { webUserTopics } from '../broker/broker-admin.js';
import { currentUser } from './auth-hook.js';

type Ops = 'getMqttBootstrap' | 'publishMqttDemo';

/** Lifetime of a WebSocket MQTT password; the web client calls bootstrap again before it ends. */
export const WEB_MQTT_CREDENTIAL_TTL_SECONDS = 3600;

export function mqttHandlers(ctx: AppContext): Pick<Handlers, Ops> {
  return {
    async getMqttBootstrap(req) {
      const user = currentUser(req);
      await throttle(ctx, 'getMqttBootstrap', `bootstrap:user:${user.user_id}`, ctx.config.rateLimits.bootstrapPerUserPerMinute, 'broker credentials per user');
      const unavailable = ctx.brokerAdmin.webUsersUnavailable;
      if (unavailable !== null) throw restError('getMqttBootstrap', 500, 'internal_error', unavailable);
      const password = randomBytes(32).toString('base64url');
      const expiresAt = new Date(ctx.now().getTime() + WEB_MQTT_CREDENTIAL_TTL_SECONDS * 1000);
      const topics = webUserTopics(user.user_id);
      await ctx.brokerAdmin.upsertWebUser({
        userInternalId: user.id,
        userId: user.user_id,
        password,
        tokenHash: createHash('sha256').update(password).digest('hex'),
        expiresAt,
        topics,
      });
      return {
        status: 200,
        body: {
          websocket_url: ctx.config.broker.publicWebsocketUrl,
          username: user.user_id,
          password,
          expires_at: expiresAt.toISOString(),
          topics: { subscribe: [topics.own, topics.categories] },
        },
      };
    },

    async publishMqttDemo(req) {
      const user = currentUser(req);
      if (!ctx.config.demoEnabled) throw restError('publishMqttDemo', 403, 'forbidden', 'The MQTT demo is disabled in production');
      const notification: PostNotification = {
        ...messageExamples.PostNotification.new_post,
        owner_id: user.user_id,
        owner_handle: user.handle,
        created_at: ctx.now().toISOString(),
      };
      const params = { follower_id: user.user_id, post_id: notification.post_id };
      await publishPostNewForFollower(ctx.mqtt, params, notification);
      return { status: 202, body: { published_topics: [postNewForFollowerTopic.format(params)] } };
    },
  };
}
