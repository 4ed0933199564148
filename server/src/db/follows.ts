// SQL about follows: users following users (new-post fan-out) and users following categories.
// Following twice or unfollowing what is not followed changes nothing.
import type { Queryable } from './client.js';
import type { PromotionCategory } from '@makapix/contract/components/identifiers';

/** The follower follows the followee (idempotent). A self-follow violates Constraints.followsNotSelf. */
export async function followUser(sql: Queryable, followerId: number, followeeId: number): Promise<void> {
  await sql`
    insert into follows (follower_id, followee_id) values (${followerId}, ${followeeId})
    on conflict (follower_id, followee_id) do nothing`;
}

export async function unfollowUser(sql: Queryable, followerId: number, followeeId: number): Promise<void> {
  await sql`delete from follows where follower_id = ${followerId} and followee_id = ${followeeId}`;
}

export async function followCategory(sql: Queryable, userId: number, category: PromotionCategory): Promise<void> {
  await sql`
    insert into category_follows (user_id, category) values (${userId}, ${category})
    on conflict (user_id, category) do nothing`;
}

export async function unfollowCategory(sql: Queryable, userId: number, category: PromotionCategory): Promise<void> {
  await sql`delete from category_follows where user_id = ${userId} and category = ${category}`;
}
