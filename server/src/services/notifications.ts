// The post notifications (CONTRACT_NOTES section 5): built from the generated topic templates and
// the generated PostNotification schema, checked, and written to the outbox inside the caller's
// transaction (so they exist if and only if the change that causes them commits). The MQTT
// publisher (mqtt/workers.ts) publishes outbox rows; callers call ctx.wakePublisher() after commit.
import {
  postNewForFollowerTopic, postNewInCategoryTopic, postNewTopic, PostNotificationValidator,
} from '../../../generated/asyncapi/channels.js';
import type { PostNotification } from '../../../generated/asyncapi/schemas.js';
import type { Queryable } from '../db/client.js';
import { followerUserIds } from '../db/follows.js';
import * as outbox from '../db/outbox.js';
import type { PostRow, PromotionCategory } from '../db/posts.js';

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

/** New post: one message on makapix/post/new/{post_id}, then one per follower. */
export function newPostMessages(post: PostRow, followerIds: readonly string[]): outbox.OutboxMessage[] {
  const payload = postNotification(post);
  return [
    { topic: postNewTopic.format({ post_id: post.post_id }), payload },
    ...followerIds.map((follower_id) => ({
      topic: postNewForFollowerTopic.format({ follower_id, post_id: post.post_id }),
      payload,
    })),
  ];
}

/** Promotion: one message on makapix/post/new/category/{category}/{post_id} (never one per category follower). */
export function promotionMessage(post: PostRow, category: PromotionCategory): outbox.OutboxMessage {
  const payload = postNotification({ ...post, promoted_category: category });
  return { topic: postNewInCategoryTopic.format({ category, post_id: post.post_id }), payload };
}

/** Enqueues the new-post notifications with one multi-row insert. Returns how many were enqueued. */
export async function enqueueNewPost(tx: Queryable, post: PostRow): Promise<number> {
  const followers = await followerUserIds(tx, post.owner_id);
  const ids = await outbox.enqueue(tx, newPostMessages(post, followers));
  return ids.length;
}

/** Enqueues the one promotion notification. */
export async function enqueuePromotion(tx: Queryable, post: PostRow, category: PromotionCategory): Promise<void> {
  await outbox.enqueue(tx, [promotionMessage(post, category)]);
}
