// Puts another player_key than the topic's in its statuses.
import type { BrokenPlayer } from './broken-player.js';

export const wrongStatusKey: BrokenPlayer = { family: 'status key mismatch', flaws: { ownKeyInStatus: false }, caughtBy: ['player/status/heartbeat', 'player/status/valid'], pointer: '/player_key' };
