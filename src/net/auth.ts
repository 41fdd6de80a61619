import { createHash, timingSafeEqual } from 'node:crypto';

/** What both fronts answer a token that is not the server's (TCP: AUTH_FAILED; REST: a 401). */
export const WRONG_TOKEN = 'wrong token';

/**
 * Compares a client's token with the server's in constant time. Both are hashed first, so neither
 * the comparison nor its length check says how much of the token was right.
 */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Whether one of the tokens a client sent is the server's: the TCP front's first line carries one,
 * an HTTP Authorization header one or two (Basic's password and user name). Every one is compared,
 * in constant time, so timing says nothing about which one matched.
 */
export function anyTokenMatches(given: readonly string[], expected: string): boolean {
  let ok = false;
  for (const candidate of given) if (tokenMatches(candidate, expected)) ok = true;
  return ok;
}
