// Schema failures answered with internal_error (what the deployed system did) instead of invalid_request.
import type { BrokenServer } from './broken-server.js';

export const wrongErrorCode: BrokenServer = {
  family: 'wrong error code',
  behaviour: { schemaErrorCode: 'internal_error' },
  caughtBy: ['server/mqtt/negatives/limit_out_of_range', 'server/mqtt/negatives/malformed_json', 'server/mqtt/negatives/missing_field'],
  pointer: '/error_code',
};
