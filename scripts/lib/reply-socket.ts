/**
 * ReplySocket, a byte-level client for the scripts and tests: it sends exact bytes and hands out each
 * reply's raw bytes (split on CRLFCRLF), so framing and compression are checked rather than trusted;
 * and the reading of a reply's bytes (decodeReply, errorOf).
 */
import net from 'node:net';
import { inflateSync } from 'node:zlib';
import { within } from './wait.js';

export const TERMINATOR = Buffer.from('\r\n\r\n');
export type NextReply = Buffer | 'closed' | 'timeout';

/**
 * A client socket that sends exact bytes and hands out each reply's raw bytes (up to CRLFCRLF) in
 * order. `closedByPeer` says whether the server ended the connection before we did.
 */
export class ReplySocket {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  isClosed = false;
  closedByPeer = false;
  endedByUs = false;
  bytesReceived = 0;
  #buffer: Buffer = Buffer.alloc(0);
  #replies: Buffer[] = [];
  #waiter: ((r: NextReply) => void) | null = null;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
    socket.on('end', () => {
      if (!this.endedByUs) this.closedByPeer = true;
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.isClosed = true;
        if (!this.endedByUs) this.closedByPeer = true;
        const waiter = this.#waiter;
        this.#waiter = null;
        waiter?.('closed');
        resolve();
      }),
    );
  }

  static connect(port: number, host = '127.0.0.1'): Promise<ReplySocket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new ReplySocket(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Replies received and not yet taken. */
  get queued(): number {
    return this.#replies.length;
  }

  /** Bytes received after the last complete reply. */
  get partial(): number {
    return this.#buffer.length;
  }

  write(data: string | Buffer): boolean {
    if (this.isClosed || this.socket.destroyed) return false;
    return this.socket.write(data);
  }

  /** The next reply's raw bytes (terminator removed), or why there is none. */
  next(timeoutMs = 10_000): Promise<NextReply> {
    const ready = this.#replies.shift();
    if (ready) return Promise.resolve(ready);
    if (this.isClosed) return Promise.resolve('closed');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiter = null;
        resolve('timeout');
      }, timeoutMs);
      this.#waiter = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  }

  /** Half-closes and waits for the server to close (or gives up after timeoutMs and destroys). */
  async end(timeoutMs = 5000): Promise<void> {
    this.endedByUs = true;
    this.socket.end();
    await within(this.closed, timeoutMs);
    this.socket.destroy();
  }

  /** Closes at once (FIN, or RST with `reset`), whatever is in flight. */
  destroy(reset = false): void {
    this.endedByUs = true;
    if (reset && typeof this.socket.resetAndDestroy === 'function' && !this.socket.destroyed) this.socket.resetAndDestroy();
    else this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    const searchFrom = Math.max(0, this.#buffer.length - 3);
    const buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    let start = 0;
    for (let end = buffer.indexOf(TERMINATOR, searchFrom); end !== -1; end = buffer.indexOf(TERMINATOR, start)) {
      this.#replies.push(buffer.subarray(start, end));
      start = end + 4;
    }
    this.#buffer = start === 0 ? buffer : Buffer.from(buffer.subarray(start));
    if (this.#waiter && this.#replies.length > 0) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter(this.#replies.shift()!);
    }
  }
}

/** A reply's JSON: plain when it starts with '{', else a zlib stream. */
export function decodeReply(raw: Buffer): { compressed: boolean; value: unknown } {
  const compressed = raw.length > 0 && raw[0] !== 0x7b;
  const text = (compressed ? inflateSync(raw) : raw).toString('utf8');
  return { compressed, value: JSON.parse(text) };
}

export function errorOf(value: unknown): { code: string; message: string } | null {
  if (typeof value !== 'object' || value === null || !('error' in value)) return null;
  return (value as { error: { code: string; message: string } }).error;
}
