/** Waiting in scripts and tests: a sleep, a bounded wait for a promise, and one for a condition. */

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Looks at `condition` (which may ask the server: a promise) every 20 ms for at most `timeoutMs`; true once it holds, false if it never did. */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; !(await condition()); await sleep(20)) if (Date.now() > deadline) return false;
  return true;
}

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
