/**
 * Counters that only grow, and readers that keep their own last value, so that any number of
 * readers (the pool's packing, SpareCpu, a metrics exporter, a test) each see every increment
 * without taking samples from each other (src/stats.ts says which figures are counters).
 */
import { ERROR_CODE_LIST, type ErrorCode } from '../protocol/errors.js';
import { REQUEST_KINDS } from '../protocol/schema.js';
import { zeroCounts, type Front, type RequestCommand, type RequestCounts } from '../stats.js';

/**
 * A microsecond counter a worker adds to in shared memory (one `Atomics.add` on an Int32 per batch),
 * widened on the main thread into a Number that never wraps.
 *
 * 32 bits of microseconds wrap after 2^32 µs (71 minutes of one busy core; 36 as a signed value), so
 * the shared word is read as unsigned and only its change, modulo 2^32, is added to the total. That
 * is exact as long as the word is read at least once per 2^32 µs of growth; the pool reads it every
 * 250 ms. A BigInt64Array would not wrap, but the worker would make a BigInt per batch on its hot
 * path for it; this costs the worker nothing (its one Int32 add stays) and the main thread one load
 * per read.
 */
export class WidenedCounter {
  #array: Int32Array | null = null;
  /** The shared word as last read. */
  #word = 0;
  #total = 0;

  constructor(readonly index: number) {}

  /** The total so far. */
  read(): number {
    if (this.#array === null) return this.#total;
    const word = Atomics.load(this.#array, this.index);
    // Both are Int32: the difference, taken to 32 bits unsigned, is the growth even across a wrap.
    this.#total += (word - this.#word) >>> 0;
    this.#word = word;
    return this.#total;
  }

  /** Counts from another shared array from now on (a successor worker's channel); what the old one held is kept. */
  moveTo(array: Int32Array): void {
    this.read();
    this.#array = array;
    this.#word = Atomics.load(array, this.index);
  }
}

/** One reader's view of a counter that only grows: the growth since this reader last looked. */
export class CounterReader {
  #last: number;

  constructor(readonly read: () => number) {
    this.#last = read();
  }

  delta(): number {
    const now = this.read();
    const delta = now - this.#last;
    this.#last = now;
    return delta;
  }
}

/**
 * Requests answered through the pool, by front, command and error code. Counted on the main thread
 * where the pool reads each result anyway: plain numbers, no shared memory, nothing on the workers.
 */
export class RequestCounter {
  readonly #counts: Record<Front, RequestCounts> = { tcp: newRequestCounts(), rest: newRequestCounts() };

  count(front: Front, command: RequestCommand, code: ErrorCode | null): void {
    const counts = this.#counts[front];
    counts.requests[command] += 1;
    if (code !== null) counts.errors[code] += 1;
  }

  /** A copy, by front. */
  snapshot(): Record<Front, RequestCounts> {
    const copy = ({ requests, errors }: RequestCounts): RequestCounts => ({ requests: { ...requests }, errors: { ...errors } });
    return { tcp: copy(this.#counts.tcp), rest: copy(this.#counts.rest) };
  }
}

function newRequestCounts(): RequestCounts {
  return { requests: zeroCounts([...REQUEST_KINDS, 'invalid', 'lost']), errors: zeroCounts(ERROR_CODE_LIST) };
}
