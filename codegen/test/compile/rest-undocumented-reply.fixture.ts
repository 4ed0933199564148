// expect: followCategory
// A REST handler returning an error status its operation does not document does not compile.
import type { Handlers } from '@makapix/contract/openapi/routes';

export const h: Pick<Handlers, 'followCategory'> = {
  async followCategory() {
    return { status: 404, body: { error_code: 'not_found', error: 'no such category' } };
  },
};
