// expect: authMe
// A REST operation without a handler does not compile.
import type { Handlers } from '@makapix/contract/openapi/routes';

export function build(all: Handlers): Handlers {
  const { authMe: _left_out, ...rest } = all;
  return rest;
}
