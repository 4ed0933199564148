// createComment: threading rules (depth 0..2, same post), 404s and the stored rows, on a real stack.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restExamples } from '@makapix/contract/openapi/examples';
import { registerModerator, registerUser, startStack, uniqueHandle, type Stack, type TestUser } from '../support/stack.js';
import { createPostAs, expectError, expectStatus } from './helpers.js';

let stack: Stack;
let author: TestUser;
let reader: TestUser;
let moderator: TestUser;

beforeAll(async () => {
  stack = await startStack();
  author = await registerUser(stack.api, uniqueHandle('artist'));
  reader = await registerUser(stack.api, uniqueHandle('reader'));
  moderator = await registerModerator(stack);
});
afterAll(async () => stack?.stop());

const ex = restExamples.createComment;
const sql = () => stack.server.ctx.sql;

const comment = (postId: number, user: TestUser, body: { body: string; parent_id?: string | null }) =>
  stack.api.createComment({ params: { post_id: postId }, body }, { token: user.token });

describe('createComment', () => {
  it('writes a top-level comment (top_level example) as the caller', async () => {
    const post = await createPostAs(stack.api, author);
    const c = expectStatus(await comment(post.post_id, reader, ex.request.top_level), 201);
    expect(c).toEqual({
      ...ex.responses[201].top_level,
      comment_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      post_id: post.post_id,
      author_handle: reader.handle,
      created_at: expect.stringMatching(/Z$/),
    });
    const [row] = await sql()<{ author_user_id: string; depth: number; parent_id: string | null; body: string }[]>`
      select u.user_id as author_user_id, c.depth, c.parent_id, c.body
      from comments c join users u on u.id = c.author_id where c.comment_id = ${c.comment_id}`;
    expect(row).toEqual({ author_user_id: reader.user_id, depth: 0, parent_id: null, body: ex.request.top_level.body });
    // An explicit null parent is a top-level comment too.
    expect(expectStatus(await comment(post.post_id, author, { body: 'also top', parent_id: null }), 201).depth).toBe(0);
  });

  it('threads replies to depth 1 and 2 (reply example) and refuses depth 3 (reply_too_deep example)', async () => {
    const post = await createPostAs(stack.api, author);
    const top = expectStatus(await comment(post.post_id, reader, ex.request.top_level), 201);
    const r1 = expectStatus(await comment(post.post_id, author, { ...ex.request.reply, parent_id: top.comment_id }), 201);
    expect(r1).toMatchObject({ depth: 1, parent_id: top.comment_id, body: ex.request.reply.body, author_handle: author.handle, deleted: false });
    const r2 = expectStatus(await comment(post.post_id, reader, { body: 'depth two', parent_id: r1.comment_id }), 201);
    expect(r2).toMatchObject({ depth: 2, parent_id: r1.comment_id });

    const tooDeep = await comment(post.post_id, author, { ...ex.request.reply_too_deep, parent_id: r2.comment_id });
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.body).toEqual(ex.responses[400].reply_too_deep);
    const [n] = await sql()<{ n: number }[]>`select count(*) as n from comments where post_id = ${post.post_id}`;
    expect(n!.n).toBe(3);
    // Siblings at depth 1 are fine.
    expect(expectStatus(await comment(post.post_id, moderator, { body: 'sibling', parent_id: top.comment_id }), 201).depth).toBe(1);
  });

  it('refuses a parent on another post (400) and an unknown parent (404)', async () => {
    const a = await createPostAs(stack.api, author);
    const b = await createPostAs(stack.api, author);
    const onA = expectStatus(await comment(a.post_id, reader, { body: 'on a' }), 201);
    expectError(await comment(b.post_id, reader, { body: 'cross', parent_id: onA.comment_id }), 400, 'invalid_request', /^parent_id: /);
    expectError(await comment(b.post_id, reader, { body: 'orphan', parent_id: randomUUID() }), 404, 'not_found');
    const [n] = await sql()<{ n: number }[]>`select count(*) as n from comments where post_id = ${b.post_id}`;
    expect(n!.n).toBe(0);
  });

  it('answers 404 for an unknown, deleted or (to others) hidden post', async () => {
    expectError(await comment(999_999, reader, { body: 'nowhere' }), 404, 'not_found', 'Post 999999 not found');
    const deleted = await createPostAs(stack.api, author);
    expect((await stack.api.deletePost({ params: { post_id: deleted.post_id } }, { token: author.token })).status).toBe(204);
    expectError(await comment(deleted.post_id, reader, { body: 'late' }), 404, 'not_found');

    const hidden = await createPostAs(stack.api, author);
    await sql()`update posts set hidden_by_mod = true where post_id = ${hidden.post_id}`;
    expectError(await comment(hidden.post_id, reader, { body: 'hidden' }), 404, 'not_found');
    expect(expectStatus(await comment(hidden.post_id, author, { body: 'mine' }), 201).depth).toBe(0);
    expect(expectStatus(await comment(hidden.post_id, moderator, { body: 'mod note' }), 201).depth).toBe(0);
  });

  it('answers 404 for a reply to a deleted comment', async () => {
    const post = await createPostAs(stack.api, author);
    const top = expectStatus(await comment(post.post_id, reader, { body: 'soon gone' }), 201);
    await sql()`update comments set deleted = true where comment_id = ${top.comment_id}`;
    expectError(await comment(post.post_id, author, { body: 'reply', parent_id: top.comment_id }), 404, 'not_found');
  });

  it('answers 400 for bodies outside the schema and 401 without a token', async () => {
    const post = await createPostAs(stack.api, author);
    for (const body of [{ body: '' }, { body: 'x'.repeat(2001) }, { body: 'ok', parent_id: 'not-a-uuid' }, { body: 'ok', extra: true }, {}]) {
      expectError(await comment(post.post_id, reader, body as never), 400, 'invalid_request');
    }
    expectError(await stack.api.createComment({ params: { post_id: post.post_id }, body: { body: 'anon' } }), 401, 'authentication_failed');
    const [n] = await sql()<{ n: number }[]>`select count(*) as n from comments where post_id = ${post.post_id}`;
    expect(n!.n).toBe(0);
  });
});
