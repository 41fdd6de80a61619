import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares a client's token with the server's in constant time. Both are hashed first, so neither
 * the comparison nor its length check says how much of the token was right.
 */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
