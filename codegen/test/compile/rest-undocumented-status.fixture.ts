// expect: followCategory documents no error answer with status 404
// A REST error with a status its operation does not document does not compile.
import { restError } from '../../../generated/openapi/routes.js';

export const e = restError('followCategory', 404, 'not_found', 'no such category');
