// expect: nothing
// The documented counterparts of the failing fixtures compile.
import { requestFailure, type RequestHandlers } from '@makapix/contract/asyncapi/operations';
import { authenticationFailed, restError, type Handlers } from '@makapix/contract/openapi/routes';
import { ok } from './support.js';

export const handlers: RequestHandlers<null> = {
  ...ok,
  query_posts: async () => {
    throw requestFailure('query_posts', 'not_found', 'user_handle: nobody');
  },
};
export const shared = requestFailure(['query_posts', 'get_comments'], 'invalid_request', 'cursor: expired');
export const errors = [
  restError('followUser', 404, 'not_found', 'no such user'),
  restError('authRegister', 409, 'conflict', 'taken'),
  restError(['followUser', 'unfollowUser'], 400, 'invalid_request', 'yourself'),
  authenticationFailed('no token'),
];
export const h: Pick<Handlers, 'followCategory'> = {
  async followCategory() {
    return { status: 400, body: { error_code: 'invalid_request', error: 'category: unknown', detail: 'category: unknown' } };
  },
};
