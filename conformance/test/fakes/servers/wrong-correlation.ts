// Answers with the spec example's request_id ("req-001") instead of the request's.
import type { BrokenServer } from './broken-server.js';

export const wrongCorrelation: BrokenServer = {
  family: 'wrong correlation',
  behaviour: { mutate: (a) => ({ ...a, request_id: 'req-001' }) },
  caughtBy: ['server/mqtt/query_posts/all_default', 'server/mqtt/submit_view/submit_view_not_found'],
  pointer: '/request_id',
};
