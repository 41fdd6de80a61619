import { isUtf8 } from 'node:buffer';
import { PendingBytes, type AppendRefusal, type BufferBudget } from '../net/buffer-budget.js';
import type { ErrorCode } from './errors.js';

export interface ReceiverEvents {
  /** A complete request line, terminator removed. */
  line(text: string): void;
  /** A line that cannot be passed on; `fatal` means stop reading (the line limit was hit). */
  reject(code: ErrorCode, message: string, fatal: boolean): void;
}

/**
 * Splits a byte stream into request lines (`\r\n` or `\n`), keeping at most `maxLineBytes` of an
 * unfinished line. Runs on the main thread, so it only finds newlines and checks UTF-8; parsing the
 * JSON happens in the workers.
 *
 * A line inside one chunk is passed on from the chunk itself (no copy). Only an unfinished line is
 * kept, copied into one buffer charged to the server's BufferBudget: a line arriving a byte per read
 * costs its bytes, not an object per read.
 */
export class LineReceiver {
  readonly #partial: PendingBytes;
  #stopped = false;

  constructor(
    readonly maxLineBytes: number,
    budget: BufferBudget,
    readonly events: ReceiverEvents,
  ) {
    // An unfinished line may still end in the CR of its CRLF: one byte of slack until it does.
    this.#partial = new PendingBytes(budget, maxLineBytes + 1);
  }

  /** Memory held for the unfinished line (charged to the budget). */
  get bufferedBytes(): number {
    return this.#partial.capacity;
  }

  /**
   * Feeds a chunk, which is not kept (a shared read buffer is overwritten once this returns); false
   * once reading should stop (a line over the limit, or no room left in the budget).
   */
  push(chunk: Buffer): boolean {
    if (this.#stopped) return false;
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      let line = chunk.subarray(start, nl);
      start = nl + 1;
      const joined = this.#partial.length > 0;
      if (joined) {
        const refused = this.#partial.append(line);
        if (refused) return this.#tooLong(refused);
        line = this.#partial.view();
      }
      const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
      if (end > this.maxLineBytes) return this.#tooLong('too-long');
      const body = line.subarray(0, end);
      const text = isUtf8(body) ? body.toString('utf8') : null;
      if (joined) this.#partial.clear();
      if (text !== null) this.events.line(text);
      else this.events.reject('BAD_ENCODING', 'the line is not valid UTF-8; requests are JSON text in UTF-8', false);
      if (this.#stopped) return false;
    }
    if (start < chunk.length) {
      const refused = this.#partial.append(chunk.subarray(start));
      if (refused) return this.#tooLong(refused);
    }
    return true;
  }

  /** Passes on no more lines, not even the rest of the current chunk, and gives back what it holds. */
  stop(): void {
    this.#stopped = true;
    this.#partial.clear();
  }

  #tooLong(why: AppendRefusal): false {
    this.stop();
    const message = why === 'too-long' ? `a request line is longer than ${this.maxLineBytes} bytes; closing the connection` : this.#partial.budget.refusal('line');
    this.events.reject('LINE_TOO_LONG', message, true);
    return false;
  }
}
