import net from 'node:net';
import { inflateSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { GymTcpServer, type ServerOptions } from '../src/server/tcp-server.js';

export function startServer(options: Partial<ServerOptions> = {}): Promise<GymTcpServer> {
  return GymTcpServer.listen({ port: 0, workers: 2, ...options });
}

export function golden(name: string): any {
  return JSON.parse(readFileSync(new URL(`./fixtures/golden/${name}`, import.meta.url), 'utf8'));
}

/**
 * A byte-level client: sends exactly the bytes given and returns each reply's raw bytes (up to the
 * first CRLFCRLF), so tests can check framing, silence and order the way the C++ client sees them.
 */
export class RawClient {
  readonly socket: net.Socket;
  #buffer = Buffer.alloc(0);
  #waiting: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#check();
    });
    this.closed = new Promise((resolve) => socket.on('close', () => {
      this.#waiting?.reject(new Error('closed'));
      resolve();
    }));
    socket.on('error', () => {});
  }

  static connect(server: GymTcpServer): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(server.address().port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next reply's bytes, terminator removed. */
  nextRaw(timeoutMs = 5000): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reply within ' + timeoutMs + ' ms')), timeoutMs);
      this.#waiting = {
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#check();
    });
  }

  async next(compressed = false): Promise<any> {
    const raw = await this.nextRaw();
    return JSON.parse(compressed ? inflateSync(raw).toString() : raw.toString());
  }

  /** Sends one line with CRLF and returns the parsed reply. */
  async ask(line: string, compressed = false): Promise<any> {
    this.send(line + '\r\n');
    return this.next(compressed);
  }

  /** Bytes received but not yet consumed as replies. */
  get unread(): Buffer {
    return this.#buffer;
  }

  #check(): void {
    if (!this.#waiting) return;
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end === -1) return;
    const body = this.#buffer.subarray(0, end);
    this.#buffer = this.#buffer.subarray(end + 4);
    const waiting = this.#waiting;
    this.#waiting = null;
    waiting.resolve(body);
  }

  end(): Promise<void> {
    this.socket.end();
    return this.closed;
  }
}

export { CPP } from '../scripts/lib.js';
