// expect: authRegister documents no error_code forbidden with status 409
// A REST error with a code its operation does not document for that status does not compile.
import { restError } from '../../../generated/openapi/routes.js';

export const e = restError('authRegister', 409, 'forbidden', 'taken');
