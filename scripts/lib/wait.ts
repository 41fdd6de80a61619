/** Waiting in scripts and tests: a sleep, and a bounded wait for a promise. */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits for a promise at most `ms` (leaving no timer behind); true if it settled in time. */
export async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
