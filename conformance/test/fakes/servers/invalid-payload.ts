// Success answers without `error: null` and with an undeclared `total` field.
import type { BrokenServer } from './broken-server.js';

export const invalidPayload: BrokenServer = {
  family: 'invalid payload',
  behaviour: {
    mutate: (a) => {
      if (a.success !== true) return a;
      const { error: _error, ...rest } = a;
      return { ...rest, total: 5 };
    },
  },
  caughtBy: ['server/mqtt/query_posts/all_default'],
  pointer: '/error',
};
