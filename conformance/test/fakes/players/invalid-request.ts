// Asks query_posts for 500 posts (the limit is 1..50).
import type { BrokenPlayer } from './broken-player.js';

export const invalidRequest: BrokenPlayer = { family: 'invalid request', flaws: { validRequests: false }, caughtBy: ['player/request/valid'], pointer: '/limit' };
