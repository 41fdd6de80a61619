/**
 * A byte ring in a SharedArrayBuffer: one writing thread, one reading thread, variable-length
 * records, no locks. The main thread and an env worker talk through two of these (see channel.ts),
 * because a MessagePort message costs a wake-up of the receiving thread's event loop per message
 * (~40–70 µs here), where a ring costs a memory copy, and the reader can find a record by looking.
 *
 * Layout: a 16-byte header of Int32 counters, then `capacity` bytes of data. `written` and `read`
 * count bytes since the ring was made (wrapping at 2^32); a record is a 4-byte length, its bytes,
 * and padding to 4. A record that would not fit before the end of the data leaves a wrap marker
 * (length -1) and starts again at offset 0.
 */

const WRITTEN = 0;
const READ = 1;
/** 1 while the reader is (about to be) asleep on WRITTEN: only then does `publish` pay for a notify. */
const SLEEPING = 2;
const HEADER_BYTES = 16;
const WRAP = -1;

const align4 = (n: number) => (n + 3) & ~3;

export class ByteRing {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  /** Atomics view of the counters; `Atomics.wait`/`waitAsync` on index 0 sleep until something is written. */
  readonly counters: Int32Array;
  readonly #bytes: Buffer;
  readonly #view: DataView;
  /** The writer's position including records not yet published. */
  #writePos: number;
  /** The reader's position including records not yet released. */
  #readPos: number;
  /** Where the record being written starts. */
  #reserved = 0;
  /** The write position last published (only the writer stores it). */
  #published: number;
  /**
   * Where the thread's ends use a Doorbell: the writer wakes a sleeping reader with `ringBell`
   * instead of Atomics.notify, and the reader sleeps in `awaitBell` instead of Atomics.wait.
   */
  ringBell: (() => void) | null = null;
  awaitBell: (() => void) | null = null;

  /** A new ring of `capacity` data bytes (a power of two). */
  static create(capacity: number): ByteRing {
    if (capacity < 64 || (capacity & (capacity - 1)) !== 0) throw new RangeError(`ring capacity must be a power of two ≥ 64, got ${capacity}`);
    return new ByteRing(new SharedArrayBuffer(HEADER_BYTES + capacity));
  }

  /** The same ring seen from another thread. */
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.capacity = buffer.byteLength - HEADER_BYTES;
    this.counters = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.#bytes = Buffer.from(buffer, HEADER_BYTES);
    this.#view = new DataView(buffer, HEADER_BYTES);
    this.#writePos = Atomics.load(this.counters, WRITTEN);
    this.#published = this.#writePos;
    this.#readPos = Atomics.load(this.counters, READ);
  }

  /** The largest record `reserve` can ever take. */
  get maxRecord(): number {
    return this.capacity / 2 - 4;
  }

  // Writer side.

  /**
   * Room for a record of up to `length` bytes, as a view to fill before `commit(used)`; null when
   * the ring is too full now (the reader has not caught up).
   */
  reserve(length: number): Buffer | null {
    if (length > this.maxRecord) throw new RangeError(`record of ${length} bytes exceeds the ring's ${this.maxRecord}`);
    const free = this.capacity - ((this.#writePos - Atomics.load(this.counters, READ)) >>> 0);
    let offset = this.#writePos & (this.capacity - 1);
    const tail = this.capacity - offset;
    const need = 4 + align4(length);
    if (need > tail) {
      // Wrap: the rest of the data is skipped, so it has to be free too.
      if (tail + need > free) return null;
      this.#view.setInt32(offset, WRAP, true);
      this.#writePos = (this.#writePos + tail) >>> 0;
      offset = 0;
    } else if (need > free) {
      return null;
    }
    this.#reserved = offset;
    return this.#bytes.subarray(offset + 4, offset + 4 + length);
  }

  /** Finishes the record `reserve` returned, `used` bytes long (≤ what was reserved); the reader sees it after `publish`. */
  commit(used: number): void {
    this.#view.setInt32(this.#reserved, used, true);
    this.#writePos = (this.#writePos + 4 + align4(used)) >>> 0;
  }

  /** Makes committed records visible, and wakes the reader if it sleeps. */
  publish(): void {
    if (this.#published === this.#writePos) return;
    this.#published = this.#writePos;
    Atomics.store(this.counters, WRITTEN, this.#writePos | 0);
    // A notify costs a system call when someone waits, and most of one when nobody does. The reader
    // raises SLEEPING before it looks a last time, so either it sees these records or we see the flag.
    if (Atomics.load(this.counters, SLEEPING) !== 0) this.#wakeReader();
  }

  #wakeReader(): void {
    if (this.ringBell === null) Atomics.notify(this.counters, WRITTEN);
    // Whoever lowers the flag decides: the writer rings once for each sleep it ends, no more.
    else if (Atomics.compareExchange(this.counters, SLEEPING, 1, 0) === 1) this.ringBell();
  }

  // Reader side.

  /** Whether the writer has published records the reader has not taken. */
  get readable(): boolean {
    return Atomics.load(this.counters, WRITTEN) !== (this.#readPos | 0);
  }

  /** The next published record (a view valid until `release`), or null when there is none. */
  next(): Buffer | null {
    const written = Atomics.load(this.counters, WRITTEN) >>> 0;
    if (this.#readPos === written) return null;
    let offset = this.#readPos & (this.capacity - 1);
    let length = this.#view.getInt32(offset, true);
    if (length === WRAP) {
      this.#readPos = (this.#readPos + this.capacity - offset) >>> 0;
      offset = 0;
      length = this.#view.getInt32(0, true);
    }
    this.#readPos = (this.#readPos + 4 + align4(length)) >>> 0;
    return this.#bytes.subarray(offset + 4, offset + 4 + length);
  }

  /**
   * Looks for a record for up to `micros` without sleeping (a sleeping thread takes tens of
   * microseconds to wake); returns the microseconds it looked.
   */
  spinUntilReadable(micros: number): number {
    const start = performance.now();
    const until = start + micros / 1000;
    let now = start;
    while (!this.readable && now < until) now = performance.now();
    return Math.round((now - start) * 1000);
  }

  /** Blocks the calling thread (a worker) until there is a record to read. */
  waitForRecords(): void {
    Atomics.store(this.counters, SLEEPING, 1);
    if (this.awaitBell === null) {
      if (!this.readable) Atomics.wait(this.counters, WRITTEN, this.#readPos | 0);
      Atomics.store(this.counters, SLEEPING, 0);
      return;
    }
    // Something to read and the flag still ours to lower: no bell is coming. Otherwise one is.
    if (this.readable && Atomics.compareExchange(this.counters, SLEEPING, 1, 0) === 1) return;
    this.awaitBell();
    // The bell may be one left from a reader before (its worker died), rung for another sleep.
    Atomics.compareExchange(this.counters, SLEEPING, 1, 0);
  }

  /**
   * Resolves when there is a record to read (now, if there is one), without blocking: for the main
   * thread, whose event loop goes on meanwhile.
   */
  whenReadable(): Promise<unknown> | null {
    Atomics.store(this.counters, SLEEPING, 1);
    const wait = this.readable ? null : Atomics.waitAsync(this.counters, WRITTEN, this.#readPos | 0);
    if (wait?.async) {
      return wait.value.then(() => Atomics.store(this.counters, SLEEPING, 0));
    }
    Atomics.store(this.counters, SLEEPING, 0);
    return null;
  }

  /** Wakes a reader waiting in `waitForRecords`/`whenReadable`, if it waits (to stop it, or after its writer died). */
  wake(): void {
    if (this.ringBell === null) Atomics.notify(this.counters, WRITTEN);
    else if (Atomics.load(this.counters, SLEEPING) !== 0) this.#wakeReader();
  }

  /** Gives the space of every record read so far back to the writer. */
  release(): void {
    Atomics.store(this.counters, READ, this.#readPos | 0);
  }
}
