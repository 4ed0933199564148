// Supervision of the dev processes `make run` starts (Mosquitto, PostgreSQL): when one dies (killed,
// crashed, OOM) while we are not stopping it, it is started again the same way (same dir, same
// ports), after a pause that doubles while it keeps failing or dying soon after a restart (from
// 250 ms up to 10 s), and every step is logged. Liveness is checked by PID (the postmaster is not
// our child: pg_ctl detaches it), a few times a second. The server meanwhile reports 503 on /readyz
// and reconnects by itself.
import { isAlive } from './process-control.js';

export interface Supervisable {
  pid: number;
  /** Stops the process; `timeoutMs` bounds the graceful part (then SIGKILL). */
  stop(timeoutMs?: number): Promise<void>;
}

/** The part of a pino logger used here. */
export interface SupervisorLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SuperviseOptions {
  log: SupervisorLog;
  /** How often liveness is checked (default 200 ms). */
  pollMs?: number;
  /** Pause before the first restart attempt (default 250 ms); it doubles on every failure. */
  firstDelayMs?: number;
  /** Longest pause between attempts (default 10 s). */
  maxDelayMs?: number;
  /** A process up for this long has its pause reset to firstDelayMs when it dies (default 30 s). */
  stableMs?: number;
}

export interface Supervisor<T extends Supervisable> {
  /** The process now running (a new object after each restart). */
  readonly current: T;
  /** Successful restarts so far. */
  readonly restarts: number;
  /** Resolves with the process of the next successful restart. */
  nextRestart(): Promise<T>;
  /** No more restarts from now on (the process keeps running); idempotent. */
  release(): void;
  /** release(), wait for a restart under way, then stop the current process. */
  stop(timeoutMs?: number): Promise<void>;
}

export function supervise<T extends Supervisable>(name: string, first: T, start: () => Promise<T>, opts: SuperviseOptions): Supervisor<T> {
  const { log } = opts;
  const pollMs = opts.pollMs ?? 200;
  const firstDelayMs = opts.firstDelayMs ?? 250;
  const maxDelayMs = opts.maxDelayMs ?? 10_000;
  const stableMs = opts.stableMs ?? 30_000;

  let current = first;
  let restarts = 0;
  let released = false;
  let delay = firstDelayMs;
  let upSince = Date.now();
  let restarting: Promise<void> | null = null;
  let wakeSleeper: (() => void) | null = null;
  const waiters: ((t: T) => void)[] = [];

  const pause = (ms: number) => new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done() { clearTimeout(t); wakeSleeper = null; resolve(); }
    wakeSleeper = done;
  });

  async function restart(): Promise<void> {
    const dead = current.pid;
    if (Date.now() - upSince >= stableMs) delay = firstDelayMs;
    log.warn({ process: name, pid: dead }, `${name} (pid ${dead}) has exited; restarting it in ${delay} ms`);
    for (let attempt = 1; !released; attempt++) {
      await pause(delay);
      if (released) return;
      try {
        const next = await start();
        if (released) { await next.stop(); return; }
        current = next;
        restarts += 1;
        upSince = Date.now();
        delay = Math.min(delay * 2, maxDelayMs); // should it die again soon, wait longer
        log.info({ process: name, pid: next.pid, restarts }, `${name} restarted (pid ${next.pid})`);
        for (const w of waiters.splice(0)) w(next);
        return;
      } catch (err) {
        delay = Math.min(delay * 2, maxDelayMs);
        log.error({ process: name, attempt, err: (err as Error).message }, `restarting ${name} failed (attempt ${attempt}); trying again in ${delay} ms`);
      }
    }
  }

  const timer = setInterval(() => {
    if (released || restarting || isAlive(current.pid)) return;
    restarting = restart().finally(() => { restarting = null; });
  }, pollMs);

  const release = () => {
    if (released) return;
    released = true;
    clearInterval(timer);
    wakeSleeper?.();
  };

  return {
    get current() { return current; },
    get restarts() { return restarts; },
    nextRestart: () => new Promise<T>((resolve) => { waiters.push(resolve); }),
    release,
    async stop(timeoutMs?: number) {
      release();
      await restarting;
      await current.stop(timeoutMs);
    },
  };
}
