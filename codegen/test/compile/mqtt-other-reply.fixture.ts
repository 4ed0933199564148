// expect: QueryPostsHandlerReply
// An MQTT handler returning another request type's reply (submit_view's empty success) does not compile.
import type { RequestHandlers } from '@makapix/contract/asyncapi/operations';
import { ok } from './support.js';

export const handlers: RequestHandlers<null> = {
  ...ok,
  query_posts: async (req) => ({ request_id: req.request_id, success: true, error: null }),
};
