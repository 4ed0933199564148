// Receives commands and ignores them: its statuses keep the old current_post_id.
import type { BrokenPlayer } from './broken-player.js';

export const ignoredCommand: BrokenPlayer = {
  family: 'ignored command',
  flaws: { executeCommands: false },
  caughtBy: ['player/command/show_artwork', 'player/command/survives_invalid_command'],
  pointer: '/current_post_id',
};
