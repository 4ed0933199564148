// PLACEHOLDER (being written): answers 500 until the real handlers land.
import { HttpError } from '../../../codegen/runtime/index.js';
import type { Handlers } from '../../../generated/openapi/routes.js';
import type { AppContext } from '../context.js';

type Ops = 'followUser' | 'unfollowUser' | 'followCategory' | 'unfollowCategory';

export function followHandlers(_ctx: AppContext): Pick<Handlers, Ops> {
  const missing = async (): Promise<never> => {
    throw new HttpError(500, 'internal_error', 'not implemented yet');
  };
  return {
    followUser: missing,
    unfollowUser: missing,
    followCategory: missing,
    unfollowCategory: missing,
  };
}
