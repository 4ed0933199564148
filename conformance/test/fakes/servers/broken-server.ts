// A broken fake server: one changed behaviour, and the cases that must catch it.
import type { FakeBehaviour } from '../fake-server.js';

export interface BrokenServer {
  /** The family of checks it breaks. */
  family: string;
  behaviour: Partial<FakeBehaviour>;
  /** Full case names that must fail (run with --run set to exactly these). */
  caughtBy: string[];
  /** A mismatch pointer the first case must report. */
  pointer: string;
}
