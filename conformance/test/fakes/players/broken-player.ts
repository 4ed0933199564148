// A broken fake player: one flaw, and the cases that must catch it.
import type { PlayerFlaws } from './fake-player.js';

export interface BrokenPlayer {
  family: string;
  flaws: Partial<PlayerFlaws>;
  caughtBy: string[];
  pointer: string;
}
