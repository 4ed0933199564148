// Bounded waits shared by the suite's MQTT observers and its runner.

/**
 * The first value `find` returns, checked now and each time a waiter of `waiters` is called (the
 * owner calls them all when something arrives); undefined once `deadline` (epoch ms) passes.
 */
export function waitForFind<T>(find: () => T | undefined, waiters: Set<() => void>, deadline: number): Promise<T | undefined> {
  const found = find();
  if (found !== undefined || Date.now() >= deadline) return Promise.resolve(found);
  return new Promise((resolve) => {
    const check = () => {
      const value = find();
      if (value !== undefined) done(value);
    };
    const done = (value: T | undefined) => {
      clearTimeout(timer);
      waiters.delete(check);
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), Math.max(0, deadline - Date.now()));
    waiters.add(check);
  });
}

/** Settles like `p`, or rejects with `message()` after `ms` (p's later outcome is then ignored). */
export async function rejectAfter<T>(p: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message())), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until `p` settles, at most `ms`; its outcome is ignored. */
export async function settleWithin(p: Promise<unknown>, ms: number): Promise<void> {
  await Promise.race([p.then(() => undefined, () => undefined), new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);
}
