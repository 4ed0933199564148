// `server --api`: creates what the cases need through the generated REST client — one account per
// user of the example world (the player's owner plays artist123), their posts (in example id
// order, so "newest id first" keeps the examples' order) and comments, a follow, a provisioned and
// registered player with its certificate, and optionally a moderator.
import { randomBytes } from 'node:crypto';
import { createClient } from '@makapix/contract/openapi/client';
import { HandleBounds } from '@makapix/contract/components/identifiers';
import type { Post, PlayerCredentials } from '@makapix/contract/openapi/schemas';
import { MAX_POST_ID, type DataMap } from '../examples/substitute.js';
import { exampleWorld } from '../examples/world.js';
import { createCommentBody, createPostBody } from './rest-bodies.js';
import { expectStatus, SetupError, type RestAccount, type RestContext } from './context.js';

export interface ApiSetup {
  rest: RestContext;
  map: DataMap;
  playerKey: string;
  credentials: PlayerCredentials;
}

export interface ApiSetupOptions {
  apiUrl: string;
  runToken: string;
  /** Register this handle too; the target makes it a moderator when its configuration says so. */
  moderatorHandle?: string;
  /** Log in to this existing account, which the target's operator made a moderator. */
  moderatorLogin?: { email: string; password: string };
  log?: (line: string) => void;
}

export async function setupThroughApi(o: ApiSetupOptions): Promise<ApiSetup> {
  const api = createClient(o.apiUrl);
  const world = exampleWorld();
  let health;
  try {
    health = await api.getHealth();
  } catch (err) {
    throw new SetupError(`REST API ${o.apiUrl} is not reachable: ${(err as Error).message}`);
  }
  expectStatus('GET /healthz', health, 200);

  const password = randomBytes(18).toString('base64url');
  const register = async (handle: string): Promise<RestAccount> => {
    const r = await api.authRegister({ body: { handle, email: `${handle.toLowerCase()}@example.com`, password } });
    const body = expectStatus(`authRegister ${handle}`, r, 201);
    o.log?.(`created account ${handle} (${body.user_id})`);
    return body;
  };
  const accounts = new Map<string, RestAccount>();
  for (const h of world.handles) accounts.set(h, await register(`cf${o.runToken}_${h}`.slice(0, HandleBounds.maxLength)));
  const ownerHandle = world.ownerHandle ?? world.handles[0];
  const owner = accounts.get(ownerHandle)!;

  const posts = new Map<number, Post>();
  const postMap = new Map<number, number>();
  for (const ex of [...world.posts.values()].sort((a, b) => Number(a.post_id) - Number(b.post_id))) {
    const author = accounts.get(String(ex.owner_handle)) ?? owner;
    const body = createPostBody(ex);
    const post = expectStatus(`createPost (example post ${ex.post_id})`, await api.createPost({ body }, { token: author.token }), 201);
    posts.set(post.post_id, post);
    postMap.set(Number(ex.post_id), post.post_id);
  }
  const commentIds = new Map<string, string>();
  for (const c of world.comments) {
    const postId = postMap.get(Number(c.post_id));
    if (postId === undefined) continue;
    const author = (typeof c.author_handle === 'string' ? accounts.get(c.author_handle) : undefined) ?? owner;
    const parent = typeof c.parent_id === 'string' ? commentIds.get(c.parent_id) : undefined;
    const body = createCommentBody(c, { body: String(c.body || 'placeholder'), parent_id: parent ?? null });
    const made = expectStatus(`createComment (example comment ${c.comment_id})`, await api.createComment({ params: { post_id: postId }, body }, { token: author.token }), 201);
    commentIds.set(String(c.comment_id), made.comment_id);
  }
  const followedHandle = world.handles.find((h) => h !== ownerHandle);
  const followed = followedHandle ? accounts.get(followedHandle) : undefined;
  if (followed) expectStatus(`followUser ${followed.handle}`, await api.followUser({ params: { sqid: followed.sqid } }, { token: owner.token }), 204);

  const prov = expectStatus('provisionPlayer', await api.provisionPlayer({ body: { device_model: 'makapix-conformance', firmware_version: '1.0.0' } }), 201);
  const reg = expectStatus('registerPlayer', await api.registerPlayer({ body: { registration_code: prov.registration_code, name: 'makapix-conformance' } }, { token: owner.token }), 201);
  const credentials = expectStatus('getPlayerCredentials', await api.getPlayerCredentials({ params: { player_key: prov.player_key } }), 200);
  o.log?.(`registered player ${prov.player_key} (${reg.id})`);

  let moderator: RestAccount | undefined;
  if (o.moderatorLogin) {
    const r = await api.authLogin({ body: o.moderatorLogin });
    if (r.status === 200) {
      const me = expectStatus('authMe (moderator)', await api.authMe({}, { token: r.body.token }), 200);
      if (me.roles.includes('moderator')) moderator = { user_id: r.body.user_id, sqid: r.body.sqid, handle: r.body.handle, token: r.body.token };
    }
    if (!moderator) o.log?.(`${o.moderatorLogin.email} cannot log in or is not a moderator (HTTP ${r.status}); cases needing feature moderator are skipped`);
  }
  if (!moderator && o.moderatorHandle) {
    const r = await api.authRegister({ body: { handle: o.moderatorHandle, email: `${o.moderatorHandle.toLowerCase()}@example.com`, password } });
    if (r.status === 201) {
      const me = expectStatus('authMe (moderator)', await api.authMe({}, { token: r.body.token }), 200);
      if (me.roles.includes('moderator')) moderator = r.body;
    }
    if (!moderator) o.log?.(`${o.moderatorHandle} is taken or did not get the moderator role (HTTP ${r.status}); cases needing feature moderator are skipped`);
  }

  const handles = new Map<string, string>();
  for (const [h, a] of accounts) handles.set(h, a.handle);
  return {
    rest: { api, apiUrl: o.apiUrl, owner, accounts, playerId: reg.id, posts, followed, moderator },
    map: { playerKey: prov.player_key, posts: postMap, handles, missingPostId: MAX_POST_ID, runToken: o.runToken },
    playerKey: prov.player_key,
    credentials,
  };
}
