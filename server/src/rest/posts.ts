// Posts and comments over REST (CONTRACT_NOTES sections 5 and 6): create (with the new-post
// notification and one follower fan-out job enqueued in the same transaction), read, soft-delete, promote (one category
// notification), comment. createPost takes either JSON with an external art_url or a multipart
// upload whose file goes to the vault (server/src/vault/): checked, written, then recorded in the
// post's transaction; a refused or failed upload leaves no post and no file.

//
// Visibility: a post hidden by a moderator, non-conformant or not visible is seen only by its owner
// and by moderators (404 for anyone else, so that its existence is not revealed). A deleted post
// is gone for everybody (404), including its owner.
import { randomUUID } from 'node:crypto';
import type { Comment } from '@makapix/contract/components/post';
import { restError, type Handlers } from '@makapix/contract/openapi/routes';
import { CreatePostRequestDefaults, type CreatePostRequest, type CreatePostUpload, type Post } from '@makapix/contract/openapi/schemas';
import type { AppContext } from '../context.js';
import { Constraints, pgConstraint, pgErrorCode } from '../db/index.js';
import { findComment, insertComment, MAX_COMMENT_DEPTH, type CommentRow } from '../db/comments.js';
import { findPost, insertPost, isListable, promotePost, softDeletePost, type NewPost, type PostRow } from '../db/posts.js';
import type { UserRow } from '../db/users.js';
import { deleteVaultObject, insertVaultObject } from '../db/vault-objects.js';
import { DECLARED_AS, FORMAT_LABELS, ImageRejected, inspectImage, objectName, type ImageInfo } from '../vault/index.js';
import { countPostViews } from '../db/views.js';
import { enqueueNewPost, enqueuePromotion } from '../services/notifications.js';
import { currentUser, isModerator } from './auth-hook.js';
import { normalizeHashtags } from './hashtags.js';
import { partDeclaration } from './multipart.js';

type Ops = 'createPost' | 'getPost' | 'deletePost' | 'promotePost' | 'createComment';

export function toApiPost(p: PostRow): Post {
  return {
    post_id: p.post_id,
    storage_key: p.storage_key,
    owner_id: p.owner_user_id,
    owner_handle: p.owner_handle,
    title: p.title,
    art_url: p.art_url,
    canvas: p.canvas,
    width: p.width,
    height: p.height,
    frame_count: p.frame_count,
    has_transparency: p.has_transparency,
    promoted_category: p.promoted_category,
    created_at: p.created_at.toISOString(),
    description: p.description,
    hashtags: p.hashtags,
    native_format: p.native_format,
  };
}

export function toApiComment(c: CommentRow): Comment {
  return {
    comment_id: c.comment_id,
    post_id: c.post_id,
    author_handle: c.author_handle,
    body: c.deleted ? '' : c.body,
    depth: c.depth,
    parent_id: c.parent_id,
    created_at: c.created_at.toISOString(),
    deleted: c.deleted,
  };
}

/** Whether `user` (null: anonymous) may see the post at all. */
export function canSeePost(post: PostRow, user: UserRow | null): boolean {
  if (post.deleted) return false;
  if (isListable(post)) return true;
  return !!user && (user.id === post.owner_id || isModerator(user));
}

/** The operations that look a post up by id (404 for an unknown or invisible post). */
type PostOperation = 'getPost' | 'deletePost' | 'promotePost' | 'createComment';
const postNotFound = (op: PostOperation, postId: number) => restError(op, 404, 'not_found', `Post ${postId} not found`);

export function postHandlers(ctx: AppContext): Pick<Handlers, Ops> {
  /** The post if the caller may see it, else 404. */
  const visiblePost = async (op: PostOperation, postId: number, user: UserRow | null): Promise<PostRow> => {
    const post = await findPost(ctx.sql, postId);
    if (!post || !canSeePost(post, user)) throw postNotFound(op, postId);
    return post;
  };

  const insertWithNotifications = (p: NewPost) =>
    ctx.sql.begin(async (tx) => {
      const post = await insertPost(tx, p);
      const notifications = await enqueueNewPost(tx, post);
      return { post, notifications };
    });

  /** Checks the file, writes it to the vault, then records post and file in one transaction. */
  const createUploadedPost = async (b: CreatePostUpload, common: Pick<NewPost, 'ownerId' | 'title' | 'description' | 'hashtags'>) => {
    const bytes = b.image as Uint8Array; // the server receives file parts as Buffers (Binary)
    const info = await inspectUpload(bytes);
    const storageKey = randomUUID();
    return ctx.vault.storeThenRecord(storageKey, info.format, bytes, (file) =>
      ctx.sql.begin(async (tx) => {
        const post = await insertPost(tx, {
          ...common,
          storageKey,
          artUrl: ctx.vault.artUrl(storageKey, info.format),
          canvas: `${info.width}x${info.height}`,
          width: info.width,
          height: info.height,
          frameCount: info.frameCount,
          hasTransparency: info.hasTransparency,
          nativeFormat: info.format,
        });
        await insertVaultObject(tx, { storageKey, format: info.format, byteSize: file.byteSize, sha256: file.sha256 });
        const notifications = await enqueueNewPost(tx, post);
        return { post, notifications };
      }));
  };

  /** What the file is; 400 naming `image` when it is refused or its declared name or type says another format. */
  const inspectUpload = async (bytes: Uint8Array): Promise<ImageInfo> => {
    let info: ImageInfo;
    try {
      info = await inspectImage(bytes, ctx.config.vault.limits);
    } catch (err) {
      if (err instanceof ImageRejected) throw restError('createPost', 400, 'invalid_request', `image: ${err.message}`);
      throw err;
    }
    const declared = partDeclaration(bytes);
    const truth = DECLARED_AS[info.format];
    const label = FORMAT_LABELS[info.format];
    const ext = declared && /\.([^./\\]+)$/.exec(declared.filename)?.[1]?.toLowerCase();
    if (ext !== undefined && !truth.extensions.includes(ext)) {
      throw restError('createPost', 400, 'invalid_request', `image: the file is ${label} but its name '${declared!.filename}' says ${ext.toUpperCase()}`);
    }
    const type = declared?.contentType;
    if (type && type !== 'application/octet-stream' && !truth.contentTypes.includes(type)) {
      throw restError('createPost', 400, 'invalid_request', `image: the file is ${label} but its part is declared as ${type}`);
    }
    return info;
  };

  return {
    async createPost(req) {
      const user = currentUser(req);
      const b = req.body;
      const common = {
        ownerId: user.id,
        title: b.title,
        description: b.description || null,
        hashtags: normalizeHashtags(b.hashtags),
      };
      let created: { post: PostRow; notifications: unknown };
      if (isUpload(b)) {
        created = await createUploadedPost(b, common);
      } else {
        const expected = `${b.width}x${b.height}`;
        if (b.canvas !== expected) {
          throw restError('createPost', 400, 'invalid_request', `body/canvas: must equal '<width>x<height>' (${expected}), got '${b.canvas}'`);
        }
        created = await insertWithNotifications({
          ...common,
          artUrl: b.art_url,
          canvas: b.canvas,
          width: b.width,
          height: b.height,
          frameCount: b.frame_count ?? CreatePostRequestDefaults.frame_count,
          hasTransparency: b.has_transparency ?? CreatePostRequestDefaults.has_transparency,
        });
      }
      const { post, notifications } = created;
      ctx.wakePublisher();
      ctx.log.debug({ post_id: post.post_id, notifications }, 'post created');
      return { status: 201, body: toApiPost(post) };
    },

    async getPost(req) {
      const post = await visiblePost('getPost', req.params.post_id, req.user);
      return { status: 200, body: { ...toApiPost(post), view_count: await countPostViews(ctx.sql, post.post_id) } };
    },

    async deletePost(req) {
      const user = currentUser(req);
      const postId = req.params.post_id;
      const post = await visiblePost('deletePost', postId, user);
      if (post.owner_id !== user.id && !isModerator(user)) {
        throw restError('deletePost', 403, 'forbidden', 'Only the owner or a moderator may delete this post');
      }
      // A concurrent delete may have won: the post is gone either way. Its vault file stops being
      // served with the commit (its row goes with it); the file itself is removed afterwards (if
      // that fails, the orphan sweep removes it).
      const file = await ctx.sql.begin(async (tx) => {
        if (!(await softDeletePost(tx, postId))) return undefined;
        return deleteVaultObject(tx, post.storage_key);
      });
      if (file === undefined) throw postNotFound('deletePost', postId);
      if (file) {
        await ctx.vault.store.delete(objectName(file.storage_key, file.native_format)).catch((err: unknown) =>
          ctx.log.warn({ err, post_id: postId }, 'vault: the file of a deleted post could not be removed (the sweep will)'));
      }
      return { status: 204, body: null };
    },

    async promotePost(req) {
      const user = currentUser(req);
      if (!isModerator(user)) throw restError('promotePost', 403, 'forbidden', 'Promoting a post needs the moderator role');
      const postId = req.params.post_id;
      const { category } = req.body;
      const promoted = await ctx.sql.begin(async (tx) => {
        const updated = await promotePost(tx, postId, category);
        if (updated) await enqueuePromotion(tx, updated, category);
        return updated;
      });
      if (promoted) {
        ctx.wakePublisher();
        return { status: 200, body: toApiPost(promoted) };
      }
      // Nothing changed: the post is unknown or deleted (404), not listed (400: promoting would announce
      // a hidden post to every category subscriber), or already in this category (200, no notification).
      const post = await visiblePost('promotePost', postId, user);
      if (!post.visible || post.hidden_by_mod || post.non_conformant) {
        throw restError('promotePost', 400, 'invalid_request', `Post ${postId} is hidden or not listed; only listed posts can be promoted`);
      }
      return { status: 200, body: toApiPost(post) };
    },

    async createComment(req) {
      const user = currentUser(req);
      const postId = req.params.post_id;
      const { body } = req.body;
      const parentId = req.body.parent_id ?? null;
      await visiblePost('createComment', postId, user);
      let depth = 0;
      if (parentId !== null) {
        const parent = await findComment(ctx.sql, parentId);
        if (!parent || parent.deleted || (parent.hidden_by_mod && !isModerator(user))) {
          throw restError('createComment', 404, 'not_found', `Comment ${parentId} not found`);
        }
        if (parent.post_id !== postId) {
          throw restError('createComment', 400, 'invalid_request', `parent_id: comment ${parentId} belongs to another post`);
        }
        if (parent.depth >= MAX_COMMENT_DEPTH) {
          throw restError('createComment', 400, 'invalid_request', `parent_id: comments are threaded at most to depth ${MAX_COMMENT_DEPTH}`);
        }
        depth = parent.depth + 1;
      }
      let comment: CommentRow;
      try {
        comment = await insertComment(ctx.sql, { postId, authorId: user.id, parentId, depth, body });
      } catch (err) {
        // The post or the parent vanished between the checks and the insert.
        if (pgErrorCode(err) === '23503') {
          if (pgConstraint(err) === Constraints.commentsParent) throw restError('createComment', 404, 'not_found', `Comment ${parentId} not found`);
          throw postNotFound('createComment', postId);
        }
        throw err;
      }
      return { status: 201, body: toApiComment(comment) };
    },
  };
}

function isUpload(body: CreatePostRequest | CreatePostUpload): body is CreatePostUpload {
  return 'image' in body;
}
