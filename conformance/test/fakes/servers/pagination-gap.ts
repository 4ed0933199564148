// Skips the first item of every page after the first.
import type { BrokenServer } from './broken-server.js';

export const paginationGap: BrokenServer = {
  family: 'pagination gap',
  behaviour: { gapAtPageBoundary: true },
  caughtBy: ['server/mqtt/flows/pagination_walk', 'server/mqtt/flows/comments_walk'],
  pointer: '/posts',
};
