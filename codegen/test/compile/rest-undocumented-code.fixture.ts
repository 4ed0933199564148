// expect: authRegister documents no error_code forbidden with status 409
// A REST error with a code its operation does not document for that status does not compile.
import { restError } from '@makapix/contract/openapi/routes';

export const e = restError('authRegister', 409, 'forbidden', 'taken');
