import { isUtf8 } from 'node:buffer';
import { PendingBytes, type AppendRefusal, type BufferBudget } from '../net/buffer-budget.js';
import type { ErrorCode } from './errors.js';

export interface ReceiverEvents {
  /**
   * A complete request line, terminator removed. Returns false when the connection can take no more
   * for now (`--max-pipeline`): the receiver keeps the rest of the read until `resume()`.
   */
  line(text: string): boolean;
  /**
   * A line that cannot be passed on; `fatal` means stop reading (the line limit was hit). Returns
   * false, as `line` does, when the connection can take no more for now.
   */
  reject(code: ErrorCode, message: string, fatal: boolean): boolean;
}

/**
 * Splits a byte stream into request lines (`\r\n` or `\n`), keeping at most `maxLineBytes` of an
 * unfinished line. Runs on the main thread, so it only finds newlines and checks UTF-8; parsing the
 * JSON happens in the workers.
 *
 * A line inside one chunk is passed on from the chunk itself (no copy). Only an unfinished line is
 * kept, copied into one buffer charged to the server's BufferBudget: a line arriving a byte per read
 * costs its bytes, not an object per read.
 *
 * When the connection says it can take no more (`line` returns false), the rest of the read is kept
 * too, copied into a second buffer charged to the same budget, and its lines are passed on from there
 * by `resume()`. One 64 KiB read holds 65,536 one-byte lines; taken whole, they queued 65,536 replies
 * (+60 MiB) for a client that never read them (docs/protocol.md §2.4).
 */
export class LineReceiver {
  readonly #partial: PendingBytes;
  /** Bytes read but not taken yet (complete lines, then maybe an unfinished one): the rest of a read. */
  readonly #held: PendingBytes;
  /** Where the untaken bytes start in `#held`. */
  #heldStart = 0;
  #holding = false;
  #stopped = false;
  /** When the unfinished line's first byte came (Date.now()), -1 without one. */
  #unfinishedSince = -1;

  constructor(
    readonly maxLineBytes: number,
    budget: BufferBudget,
    readonly events: ReceiverEvents,
  ) {
    // An unfinished line may still end in the CR of its CRLF: one byte of slack until it does.
    this.#partial = new PendingBytes(budget, maxLineBytes + 1);
    // At most the rest of one read: the connection reads nothing more while it holds one.
    this.#held = new PendingBytes(budget, Number.MAX_SAFE_INTEGER);
  }

  /** Memory held for the unfinished line and the rest of a read not taken yet (charged to the budget). */
  get bufferedBytes(): number {
    return this.#partial.capacity + this.#held.capacity;
  }

  /** True while the rest of a read waits for `resume()`. */
  get holding(): boolean {
    return this.#holding;
  }

  /** When the first byte of the line still unfinished arrived (a Date.now() time), -1 when there is none. */
  get unfinishedSince(): number {
    return this.#unfinishedSince;
  }

  /**
   * Feeds a chunk, which is not kept (a shared read buffer is overwritten once this returns); false
   * once reading should stop: a line over the limit, no room left in the budget, or the connection
   * can take no more lines for now (then the rest of the chunk is kept for `resume()`).
   */
  push(chunk: Buffer): boolean {
    if (this.#stopped || this.#holding) return false;
    const taken = this.#take(chunk, 0);
    if (taken === chunk.length) return true;
    if (taken < 0) return false;
    const refused = this.#held.append(chunk.subarray(taken));
    if (refused) {
      this.#tooLong(refused, 'read');
      return false;
    }
    this.#heldStart = 0;
    this.#holding = true;
    return false;
  }

  /**
   * Passes on the lines kept when the connection could take no more, until it can take no more again
   * (then the rest stays kept) or they are all taken; true in that case: the socket may be read again.
   */
  resume(): boolean {
    if (this.#stopped) return false;
    if (!this.#holding) return true;
    // The bytes stay in #held while lines are taken from them: nothing appends to it meanwhile.
    const held = this.#held.view();
    const taken = this.#take(held, this.#heldStart);
    if (taken < 0) return false;
    if (taken < held.length) {
      this.#heldStart = taken;
      return false;
    }
    this.#held.clear();
    this.#holding = false;
    return true;
  }

  /**
   * Takes the lines of `chunk` from `start`, keeping an unfinished one at its end; returns where it
   * stopped: `chunk.length` when all was taken, less when the connection can take no more, -1 when
   * the receiver stopped.
   */
  #take(chunk: Buffer, start: number): number {
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      let line = chunk.subarray(start, nl);
      start = nl + 1;
      const joined = this.#partial.length > 0;
      if (joined) {
        const refused = this.#partial.append(line);
        if (refused) {
          this.#tooLong(refused, 'line');
          return -1;
        }
        line = this.#partial.view();
      }
      const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
      if (end > this.maxLineBytes) {
        this.#tooLong('too-long', 'line');
        return -1;
      }
      const body = line.subarray(0, end);
      const text = isUtf8(body) ? body.toString('utf8') : null;
      if (joined) {
        this.#partial.clear();
        this.#unfinishedSince = -1;
      }
      const more =
        text !== null ? this.events.line(text) : this.events.reject('BAD_ENCODING', 'the line is not valid UTF-8; requests are JSON text in UTF-8', false);
      if (this.#stopped) return -1;
      if (!more && start < chunk.length) return start;
    }
    if (start < chunk.length) {
      if (this.#partial.length === 0) this.#unfinishedSince = Date.now();
      const refused = this.#partial.append(chunk.subarray(start));
      if (refused) {
        this.#tooLong(refused, 'line');
        return -1;
      }
    }
    return chunk.length;
  }

  /** Passes on no more lines, not even the rest of the current chunk, and gives back what it holds. */
  stop(): void {
    this.#stopped = true;
    this.#holding = false;
    this.#unfinishedSince = -1;
    this.#partial.clear();
    this.#held.clear();
  }

  /** Gives up on the connection: `what` (a line, or the rest of a read kept) is over its limit or the budget. */
  #tooLong(why: AppendRefusal, what: 'line' | 'read'): void {
    this.stop();
    const message = why === 'too-long' ? `a request line is longer than ${this.maxLineBytes} bytes; closing the connection` : this.#partial.budget.refusal(what);
    this.events.reject('LINE_TOO_LONG', message, true);
  }
}
