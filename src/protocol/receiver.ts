import { isUtf8 } from 'node:buffer';
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
 */
export class LineReceiver {
  #parts: Buffer[] = [];
  #partBytes = 0;
  #stopped = false;

  constructor(
    readonly maxLineBytes: number,
    readonly events: ReceiverEvents,
  ) {}

  /**
   * Feeds a chunk, which is not kept (a shared read buffer is overwritten once this returns); false
   * once reading should stop (a line over the limit).
   */
  push(chunk: Buffer): boolean {
    if (this.#stopped) return false;
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      let line = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.#partBytes > 0) {
        this.#parts.push(line);
        line = Buffer.concat(this.#parts, this.#partBytes + line.length);
        this.#parts = [];
        this.#partBytes = 0;
      }
      const end = line.length > 0 && line[line.length - 1] === 13 ? line.length - 1 : line.length;
      if (end > this.maxLineBytes) return this.#tooLong();
      const body = line.subarray(0, end);
      if (isUtf8(body)) this.events.line(body.toString('utf8'));
      else this.events.reject('BAD_ENCODING', 'the line is not valid UTF-8; requests are JSON text in UTF-8', false);
      if (this.#stopped) return false;
    }
    if (start < chunk.length) {
      this.#partBytes += chunk.length - start;
      // An unfinished line may still end in the CR of its CRLF: one byte of slack until it does.
      if (this.#partBytes > this.maxLineBytes + 1) return this.#tooLong();
      // Copied: the chunk may be a read buffer that the next read overwrites.
      this.#parts.push(Buffer.from(chunk.subarray(start)));
    }
    return true;
  }

  /** Passes on no more lines, not even the rest of the current chunk. */
  stop(): void {
    this.#stopped = true;
    this.#parts = [];
    this.#partBytes = 0;
  }

  #tooLong(): false {
    this.#stopped = true;
    this.#parts = [];
    this.#partBytes = 0;
    this.events.reject('LINE_TOO_LONG', `a request line is longer than ${this.maxLineBytes} bytes; closing the connection`, true);
    return false;
  }
}
