// Test support: wait for a condition (polled, with a deadline that names what was awaited).
import { setTimeout as sleep } from 'node:timers/promises';

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** Polls `probe` until it returns a truthy value; fails after `timeoutMs` naming `what` and the last value. */
export async function until<T>(what: string, probe: () => T | Promise<T>, timeoutMs = 30_000, everyMs = 50): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms (last value ${JSON.stringify(v)})`);
    await sleep(everyMs);
  }
}
