// expect: get_comments
// A request type without a handler does not compile.
import type { RequestHandlers } from '@makapix/contract/asyncapi/operations';
import { ok } from './support.js';

const { get_comments: _left_out, ...rest } = ok;
export const handlers: RequestHandlers<null> = rest;
