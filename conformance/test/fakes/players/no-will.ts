// Connects without a last will.
import type { BrokenPlayer } from './broken-player.js';

export const noWill: BrokenPlayer = { family: 'missing last will', flaws: { will: false }, caughtBy: ['player/status/last_will'], pointer: '/status' };
