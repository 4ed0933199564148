// expect: followCategory documents no error answer with status 404
// A REST error with a status its operation does not document does not compile.
import { restError } from '@makapix/contract/openapi/routes';

export const e = restError('followCategory', 404, 'not_found', 'no such category');
