/**
 * Memory held for requests still arriving (a TCP line without its newline, a REST body without its
 * end), counted in bytes of memory rather than bytes of payload, over every connection of both fronts.
 *
 * Why memory and not payload: kept as the reads came (measured with one byte per read, 200
 * connections), a TCP line cost ~122 bytes of RSS per byte (a Buffer object per read) and a chunked
 * REST body ~450 (a Buffer per chunk, each keeping its read's memory alive), so a 1 MiB line limit
 * meant >100 MiB per connection and ~60 trickling REST clients ran V8 out of memory. Here an
 * unfinished request is one buffer, grown by doubling and copied into, and what it holds is its capacity.
 */

/**
 * Default for --max-buffered-bytes. Most lines arrive whole in one read and hold nothing; one split
 * across reads holds the part that came (tens of bytes for a step, a few KiB for the largest legitimate
 * requests, FrozenLake maps). 256 MiB lets 10,000 connections (the default --max-connections) each
 * hold a 16 KiB unfinished request, or 256 hold a whole 1 MiB one, and caps what unfinished requests
 * add to a server that idles at ~90 MiB.
 */
export const DEFAULT_MAX_BUFFERED_BYTES = 256 * 1024 * 1024;

/** Bytes of memory that unfinished requests may hold, over all connections: taken and given back. */
export class BufferBudget {
  #used = 0;

  constructor(readonly limit: number) {}

  /** Bytes held now. */
  get used(): number {
    return this.#used;
  }

  /** Takes `bytes` if they fit under the limit; false (and nothing taken) otherwise. */
  take(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#used -= bytes;
  }

  /** What a client whose request (`what`: line, body) got no room is told, on either front. */
  refusal(what: string): string {
    return `the server already holds all the memory it allows for requests still arriving (${this.limit} bytes over all connections, --max-buffered-bytes), so it cannot buffer more of this ${what}; closing the connection`;
  }
}

/** Why bytes could not be appended: past the request's own limit, or the budget has no room. */
export type AppendRefusal = 'too-long' | 'over-budget';

/**
 * The smallest buffer made: most unfinished lines are the tail of a read of pipelined requests, under
 * a hundred bytes. Its own ArrayBuffer (allocUnsafeSlow), not a slice of Node's 8 KiB pool, which a
 * buffer kept for long would pin whole.
 */
const MIN_CAPACITY = 256;

/**
 * The bytes of one unfinished request: one buffer, doubled when full (at most `maxBytes`), whose
 * capacity is charged to the budget. Appended bytes are copied, so the caller's chunk (a shared read
 * buffer) is never kept.
 */
export class PendingBytes {
  #buffer: Buffer | null = null;
  #length = 0;

  constructor(
    readonly budget: BufferBudget,
    readonly maxBytes: number,
  ) {}

  get length(): number {
    return this.#length;
  }

  /** Memory held (and charged to the budget). */
  get capacity(): number {
    return this.#buffer?.length ?? 0;
  }

  /** Copies `chunk` in; on a refusal nothing is appended (the caller then gives up on the request). */
  append(chunk: Uint8Array): AppendRefusal | null {
    const needed = this.#length + chunk.length;
    if (needed > this.maxBytes) return 'too-long';
    const capacity = this.capacity;
    if (needed > capacity) {
      const grown = Math.min(this.maxBytes, Math.max(MIN_CAPACITY, capacity * 2, needed));
      if (!this.budget.take(grown - capacity)) return 'over-budget';
      const buffer = Buffer.allocUnsafeSlow(grown);
      if (this.#buffer) this.#buffer.copy(buffer, 0, 0, this.#length);
      this.#buffer = buffer;
    }
    this.#buffer!.set(chunk, this.#length);
    this.#length = needed;
    return null;
  }

  /** The bytes so far: a view, valid until the next append or clear. */
  view(): Buffer {
    return this.#buffer ? this.#buffer.subarray(0, this.#length) : Buffer.alloc(0);
  }

  /** Empties it and gives its memory back (a connection between requests holds nothing). */
  clear(): void {
    if (this.#buffer) this.budget.give(this.#buffer.length);
    this.#buffer = null;
    this.#length = 0;
  }
}
