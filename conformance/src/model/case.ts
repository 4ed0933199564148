// The case model: a case has a stable full name, the features it needs, where it comes from, and a
// body that records mismatches (or skips itself when the target lacks the data it needs).

/** One difference between what the spec expects and what the target did. */
export interface Mismatch {
  /** The MQTT topic (or `REST <operationId>`) the observation was made on; '' when none. */
  topic: string;
  /** JSON pointer into the payload ('' = the whole message). */
  pointer: string;
  expected: string;
  got: string;
}

export type CaseStatus = 'passed' | 'failed' | 'skipped' | 'known_failing';

export interface CaseResult {
  name: string;
  status: CaseStatus;
  durationMs: number;
  mismatches: Mismatch[];
  /** Shell commands that reproduce the exchange (mosquitto_pub ...). */
  reproduce: string[];
  /** Why the case was skipped (missing feature, missing data). */
  skipReason?: string;
  /** The comment of the known-failing entry that matched. */
  knownFailing?: string;
}

/** What a running case writes to. */
export class CaseRecorder {
  readonly mismatches: Mismatch[] = [];
  readonly reproduce: string[] = [];
  private closed = false;

  mismatch(m: Mismatch): void {
    if (!this.closed) this.mismatches.push(m);
  }

  addReproduce(command: string): void {
    if (!this.closed && !this.reproduce.includes(command)) this.reproduce.push(command);
  }

  /** Ends recording: a case body still running after its result was taken (over budget) changes nothing. */
  close(): void {
    this.closed = true;
  }

  /** Stops a case body whose result was already taken, between its steps (no step of it runs during a later case). */
  throwIfClosed(): void {
    if (this.closed) throw new StopCase('the case ran out of its time budget');
  }

  get failed(): boolean {
    return this.mismatches.length > 0;
  }
}

/** Thrown by a case body when the target lacks what the case needs (data, a feature found at run time). */
export class SkipCase extends Error {
  override readonly name = 'SkipCase';
}

/** Thrown by a case body to stop at the first mismatch that makes the rest meaningless. */
export class StopCase extends Error {
  override readonly name = 'StopCase';
}

export interface CaseDef<Ctx> {
  /** Stable full name, e.g. `server/mqtt/query_posts/by_user`. */
  name: string;
  /** Features the target must declare, else the case is skipped. */
  features: readonly string[];
  /** Where the case comes from (`spec: QueryPostsRequest.by_user`, `conformance/cases/server-flows.yaml`). */
  source: string;
  summary?: string;
  run(ctx: Ctx, rec: CaseRecorder): Promise<void>;
}
