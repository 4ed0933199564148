// One status on connect, then silence.
import type { BrokenPlayer } from './broken-player.js';

export const missingHeartbeat: BrokenPlayer = { family: 'missing heartbeat', flaws: { heartbeat: false }, caughtBy: ['player/status/heartbeat'], pointer: '' };
