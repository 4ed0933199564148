// expect: query_posts does not document the error code invalid_emoji
// An MQTT handler failing with a code its operation's x-error-codes does not list does not compile.
import { requestFailure, type RequestHandlers } from '@makapix/contract/asyncapi/operations';
import { ok } from './support.js';

export const handlers: RequestHandlers<null> = {
  ...ok,
  query_posts: async () => {
    throw requestFailure('query_posts', 'invalid_emoji', 'not an emoji');
  },
};
