// Startup waits for its dependencies: an attempt that fails because the dependency is not there
// yet (connection refused, host not found, timeout, "the database system is starting up") is
// retried with a doubling pause (0.25 s up to 5 s) until the startup budget (STARTUP_WAIT_SECONDS,
// shared by the database and the broker) is spent. Rejected credentials and every other error end
// startup at once. Each retried attempt logs one warning naming the dependency, its URL (without
// password) and the error.
import type { FastifyBaseLogger } from 'fastify';

export const FIRST_PAUSE_MS = 250;
export const MAX_PAUSE_MS = 5_000;

/** The time startup may spend waiting, shared by every dependency. */
export class StartupBudget {
  private readonly deadline: number;
  constructor(
    readonly seconds: number,
    private readonly clock: () => number = Date.now,
  ) {
    this.deadline = clock() + seconds * 1000;
  }

  remainingMs(): number {
    return Math.max(0, this.deadline - this.clock());
  }
}

/** Startup could not reach a dependency (or was refused by it); the message says which and why. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface Dependency {
  /** "PostgreSQL", "the MQTT broker". */
  name: string;
  /** Where it is expected, without password. */
  url: string;
  /** Which settings hold its credentials, for the "rejected the credentials" message. */
  credentialsHint: string;
}

/**
 * What a failed attempt means: `retry` (not reachable yet), `credentials` (refused our user or
 * password: fail at once) or `fatal` (anything else: rethrown as is).
 */
export type FailureKind = 'retry' | 'credentials' | 'fatal';

export interface WaitForOptions<T> {
  dependency: Dependency;
  budget: StartupBudget;
  log: Pick<FastifyBaseLogger, 'warn'>;
  attempt: () => Promise<T>;
  classify: (err: unknown) => FailureKind;
  /** The clock and the pause between attempts (tests pass a fake pair; default Date.now and a timer). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return code !== undefined && code !== null && !err.message.includes(String(code)) ? `${code} ${err.message}` : err.message;
}

const seconds = (ms: number) => `${ms < 10_000 ? Number((ms / 1000).toFixed(2)) : Math.round(ms / 1000)} s`;

export async function waitFor<T>(opts: WaitForOptions<T>): Promise<T> {
  const { dependency: dep, budget, log } = opts;
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = now();
  let pause = FIRST_PAUSE_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      return await opts.attempt();
    } catch (err) {
      const kind = opts.classify(err);
      if (kind === 'fatal') throw err;
      const text = errorText(err);
      if (kind === 'credentials') {
        throw new StartupError(
          `${dep.name} at ${dep.url} rejected the credentials (${text}); check ${dep.credentialsHint}. ` +
            'Not retrying: wrong credentials do not fix themselves.',
          { cause: err },
        );
      }
      const remaining = budget.remainingMs();
      if (remaining <= 0) {
        const waited = budget.seconds === 0
          ? 'STARTUP_WAIT_SECONDS=0, so startup does not wait'
          : `gave up after ${attempt} attempts in ${seconds(now() - started)} (STARTUP_WAIT_SECONDS=${budget.seconds})`;
        throw new StartupError(`${dep.name} at ${dep.url} is unreachable (${text}); ${waited}`, { cause: err });
      }
      const wait = Math.min(pause, remaining);
      log.warn(
        { dependency: dep.name, url: dep.url, attempt, retryInMs: wait, err: text },
        `${dep.name} at ${dep.url} is unreachable (${text}); attempt ${attempt}, retrying in ${seconds(wait)} ` +
          `(gives up in ${seconds(remaining)}, STARTUP_WAIT_SECONDS=${budget.seconds})`,
      );
      await sleep(wait);
      pause = Math.min(pause * 2, MAX_PAUSE_MS);
    }
  }
}

/** Socket-level errors that mean "not there (yet)": worth another attempt. */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN',
  'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'ENOENT',
]);

/** `url` as it may be logged: the password (in the user-info or a `password` parameter) replaced by `***`. */
export function urlWithoutPassword(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return '<unparsable URL>';
  }
  if (u.password) u.password = '***';
  for (const key of [...u.searchParams.keys()]) {
    if (/pass/i.test(key)) u.searchParams.set(key, '***');
  }
  return u.toString();
}
