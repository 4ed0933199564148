// The "example world": the posts, users and comments the spec's examples talk about (post 123 of
// artist123, the placeholder player_key, ...). Cases map it onto real data of the target.
import { messageCatalog } from '@makapix/contract/asyncapi/catalog';
import { examplesOf, requestExamples, type Json, type JsonObject } from './catalog.js';

export interface ExampleWorld {
  /** The player_key most examples use (550e8400-...); replaced by the real key. */
  placeholderPlayerKey: string;
  /** The handle of the example player's owner (owner of the posts answering channel `user`). */
  ownerHandle: string | undefined;
  /** Every post summary of the examples, by post_id. */
  posts: Map<number, JsonObject>;
  /** Every comment of the examples (unique by comment_id), oldest first. */
  comments: JsonObject[];
  /** Handles of post owners and comment authors. */
  handles: string[];
}

let cached: ExampleWorld | undefined;

export function exampleWorld(): ExampleWorld {
  if (cached) return cached;
  const posts = new Map<number, JsonObject>();
  const comments = new Map<string, JsonObject>();
  const keys = new Map<string, number>();
  const visit = (v: Json): void => {
    if (Array.isArray(v)) return v.forEach(visit);
    if (v === null || typeof v !== 'object') return;
    if (typeof v.post_id === 'number' && typeof v.owner_handle === 'string' && typeof v.storage_key === 'string' && !posts.has(v.post_id)) posts.set(v.post_id, v);
    if (typeof v.comment_id === 'string' && typeof v.post_id === 'number' && !comments.has(v.comment_id)) comments.set(v.comment_id, v);
    if (typeof v.player_key === 'string') keys.set(v.player_key, (keys.get(v.player_key) ?? 0) + 1);
    Object.values(v).forEach(visit);
  };
  for (const m of Object.keys(messageCatalog)) for (const ex of examplesOf(m)) visit(ex.payload);

  const placeholderPlayerKey = [...keys.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  const userChannel = requestExamples().find((r) => r.payload.channel === 'user' && r.answer?.success);
  const ownPosts = (userChannel?.answer?.payload.posts ?? []) as JsonObject[];
  const ownerHandle = typeof ownPosts[0]?.owner_handle === 'string' ? ownPosts[0].owner_handle : undefined;
  const sortedComments = [...comments.values()].sort((a, b) => String(a.created_at).localeCompare(String(b.created_at)));
  const handles: string[] = [];
  const addHandle = (h: Json | undefined) => {
    if (typeof h === 'string' && !handles.includes(h)) handles.push(h);
  };
  addHandle(ownerHandle);
  for (const p of [...posts.values()].sort((a, b) => Number(a.post_id) - Number(b.post_id))) addHandle(p.owner_handle);
  for (const c of sortedComments) addHandle(c.author_handle);
  cached = { placeholderPlayerKey, ownerHandle, posts, comments: sortedComments, handles };
  return cached;
}
