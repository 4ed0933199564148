// A feed row as the protocol's PostSummary (query_posts, get_post), with the 1.1 fields: kind,
// storage_shard (the firmware's rule, server/src/vault/shard.ts), native_format and
// artwork_modified_at.
import type { PostSummary } from '@makapix/contract/asyncapi/schemas';
import type { FeedRow } from '../db/feed.js';
import { isNativeFormat } from '../vault/formats.js';
import { storageShard } from '../vault/shard.js';

export function postSummaryOf(row: FeedRow): PostSummary {
  return {
    post_id: row.post_id,
    storage_key: row.storage_key,
    title: row.title,
    art_url: row.art_url,
    canvas: row.canvas,
    width: row.width,
    height: row.height,
    frame_count: row.frame_count,
    has_transparency: row.has_transparency,
    owner_handle: row.owner_handle,
    created_at: row.created_at.toISOString(),
    kind: 'artwork',
    storage_shard: storageShard(row.storage_key),
    native_format: row.native_format !== null && isNativeFormat(row.native_format) ? row.native_format : null,
    artwork_modified_at: row.artwork_modified_at.toISOString(),
  };
}
