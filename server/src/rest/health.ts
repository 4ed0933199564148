// PLACEHOLDER (being written): answers 500 until the real handlers land.
import { HttpError } from '../../../codegen/runtime/index.js';
import type { Handlers } from '../../../generated/openapi/routes.js';
import type { AppContext } from '../context.js';

type Ops = 'getHealth' | 'getReadiness';

export function healthHandlers(_ctx: AppContext): Pick<Handlers, Ops> {
  const missing = async (): Promise<never> => {
    throw new HttpError(500, 'internal_error', 'not implemented yet');
  };
  return {
    getHealth: missing,
    getReadiness: missing,
  };
}
