// What player-mode cases run against.
import type { ReproConnection } from '../report/repro.js';
import type { PlayerObserver } from './observer.js';

export interface PlayerContext {
  observer: PlayerObserver;
  playerKey: string;
  /** Per exchange (a request to be seen, a status after a command, the will after a kick). */
  timeoutMs: number;
  /** The longest silence allowed between two statuses (the spec: a heartbeat every 30-60 s). */
  heartbeatMs: number;
  /** Added to heartbeatMs for clocks and network. */
  toleranceMs: number;
  /** A status that arrives this soon after a command may have crossed it; later, it must reflect it. */
  graceMs: number;
  /** When the suite started watching (epoch ms). */
  startedAt: number;
  /** Replaces art_url in show_artwork commands (a URL the device can download). */
  artUrl?: string;
  repro: ReproConnection;
  /** Ends the player's connection (session takeover with its client id) so that the broker publishes its will. */
  kick(): Promise<void>;
  log?: (line: string) => void;
}
