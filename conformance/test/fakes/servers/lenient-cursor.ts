// Restarts at page one on a cursor it cannot read (the deployed defect) instead of invalid_request.
import type { BrokenServer } from './broken-server.js';

export const lenientCursor: BrokenServer = {
  family: 'unchecked cursor',
  behaviour: { lenientCursor: true },
  caughtBy: ['server/mqtt/negatives/tampered_cursor', 'server/mqtt/negatives/foreign_cursor'],
  pointer: '/success',
};
