// The post notifications (CONTRACT_NOTES section 5): built from the generated topic templates and
// the generated PostNotification schema, checked, and written to the outbox inside the caller's
// transaction (so they exist if and only if the change that causes them commits). The MQTT
// publisher (mqtt/workers.ts) publishes outbox rows; callers call ctx.wakePublisher() after commit.
//
// A new post's per-follower messages are not written by the request: it queues one fan-out job
// (db/outbox.ts, enqueueFollowerFanout), and the publisher of one instance (the one that leases the
// job) publishes it straight from `follows`, a chunk of followers at a time, after the request has
// answered (mqtt/outbox-publisher.ts); no outbox row is written per follower. The payload is
// validated here once and, by the publisher, once per job (not per follower). The followers who get
// the notification are those following the author when their chunk is read (a few moments after
// the post is created), not necessarily those following at the instant of the post. Messages have
// no order: a follower's message may be published before or after the generic one. Delivery is
// at-least-once: after a failure or crash inside a chunk, that chunk's followers may get it twice.
import {
  postNewForFollowerTopic, postNewInCategoryTopic, postNewTopic, PostNotificationValidator,
} from '@makapix/contract/asyncapi/channels';
import type { PostNotification } from '@makapix/contract/asyncapi/schemas';
import type { Queryable } from '../db/client.js';
import * as outbox from '../db/outbox.js';
import type { PromotionCategory } from '@makapix/contract/components/identifiers';
import type { PostRow } from '../db/posts.js';

/** The notification payload of a post (promoted_category as the post has it now). */
export function postNotification(post: PostRow): PostNotification {
  const payload: PostNotification = {
    post_id: post.post_id,
    owner_id: post.owner_user_id,
    owner_handle: post.owner_handle,
    title: post.title,
    art_url: post.art_url,
    canvas: post.canvas,
    promoted_category: post.promoted_category,
    created_at: post.created_at.toISOString(),
  };
  if (!PostNotificationValidator.check(payload)) {
    // The post passed the REST schema, so this is a server fault: fail the transaction.
    throw new Error(`post ${post.post_id}: notification payload fails its schema: ${PostNotificationValidator.explain(payload)}`);
  }
  return payload;
}

/** New post: the one message on makapix/post/new/{post_id}. */
export function newPostMessage(post: PostRow, payload: PostNotification = postNotification(post)): outbox.OutboxMessage {
  return { topic: postNewTopic.format({ post_id: post.post_id }), payload };
}

/**
 * New post: the job that becomes one message per follower on
 * makapix/post/new/user/{follower_id}/{post_id}. The topic parts around {follower_id} come from
 * the generated template (its subscription filter with only follower_id left open).
 */
export function newPostFanout(post: PostRow, payload: PostNotification = postNotification(post)): outbox.FollowerFanoutJob {
  const levels = postNewForFollowerTopic.filter({ post_id: post.post_id }).split('/');
  const open = levels.indexOf('+');
  if (open < 0 || levels.lastIndexOf('+') !== open) {
    throw new Error(`topic ${postNewForFollowerTopic.address}: expected exactly one open level for follower_id`);
  }
  const topicPrefix = `${levels.slice(0, open).join('/')}/`;
  const topicSuffix = levels.slice(open + 1).map((l) => `/${l}`).join('');
  // The publisher writes these parts around each follower's UUID: check that they make a topic of
  // the channel, with any UUID (the author's serves) in the follower_id place. (The publisher checks
  // again, on the first and last follower of each chunk, against the template it was built with.)
  const sample = postNewForFollowerTopic.parse(`${topicPrefix}${post.owner_user_id}${topicSuffix}`);
  if (sample?.follower_id !== post.owner_user_id || sample.post_id !== post.post_id) {
    throw new Error(`post ${post.post_id}: follower topic parts ${topicPrefix} ... ${topicSuffix} do not make a ${postNewForFollowerTopic.address} topic`);
  }
  return { postId: post.post_id, followeeId: post.owner_id, topicPrefix, topicSuffix, payload };
}

/** Promotion: one message on makapix/post/new/category/{category}/{post_id} (never one per category follower). */
export function promotionMessage(post: PostRow, category: PromotionCategory): outbox.OutboxMessage {
  const payload = postNotification({ ...post, promoted_category: category });
  return { topic: postNewInCategoryTopic.format({ category, post_id: post.post_id }), payload };
}

export interface NewPostEnqueued {
  /** Outbox rows written now: the generic message. */
  messages: number;
  /** The fan-out job for the followers, or null when the author has no followers. */
  fanoutJob: number | null;
}

/**
 * Enqueues the new-post notifications: the generic message and one fan-out job (two rows, however
 * many followers the author has). The payload is validated once, here.
 */
export async function enqueueNewPost(tx: Queryable, post: PostRow): Promise<NewPostEnqueued> {
  const payload = postNotification(post);
  const ids = await outbox.enqueue(tx, [newPostMessage(post, payload)]);
  const fanoutJob = await outbox.enqueueFollowerFanout(tx, newPostFanout(post, payload));
  return { messages: ids.length, fanoutJob };
}

/** Enqueues the one promotion notification. */
export async function enqueuePromotion(tx: Queryable, post: PostRow, category: PromotionCategory): Promise<void> {
  await outbox.enqueue(tx, [promotionMessage(post, category)]);
}
