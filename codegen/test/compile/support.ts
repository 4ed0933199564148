// Handlers that compile: the base the failing fixtures change one thing of, and the control case
// (control.fixture.ts) that proves the fixtures fail for the reason they name, not another.
import { requestFailure, type RequestHandlers } from '@makapix/contract/asyncapi/operations';

export const ok: RequestHandlers<null> = {
  query_posts: async (req) => ({ request_id: req.request_id, success: true, error: null, posts: [], next_cursor: null, has_more: false }),
  submit_view: async (req) => ({ request_id: req.request_id, success: true, error: null }),
  submit_reaction: async (req) => {
    if (req.emoji === '') throw requestFailure('submit_reaction', 'invalid_emoji', 'emoji: empty');
    return { request_id: req.request_id, success: true, error: null };
  },
  revoke_reaction: async (req) => ({ request_id: req.request_id, success: false, error: 'emoji: empty', error_code: 'invalid_emoji' }),
  get_comments: async (req) => ({ request_id: req.request_id, success: true, error: null, comments: [], next_cursor: null, has_more: false }),
  get_post: async (req) => {
    throw requestFailure('get_post', 'not_found', `post_id: post ${req.post_id} not found`);
  },
};
