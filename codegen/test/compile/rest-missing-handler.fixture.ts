// expect: authMe
// A REST operation without a handler does not compile.
import type { Handlers } from '../../../generated/openapi/routes.js';

export function build(all: Handlers): Handlers {
  const { authMe: _left_out, ...rest } = all;
  return rest;
}
