import net from 'node:net';
import { inflateSync } from 'node:zlib';
import { ReplySocket } from '../scripts/lib/reply-socket.js';
import { goldenText } from './golden.js';
import { GymTcpServer, type ServerOptions } from '../src/server/tcp-server.js';

export function startServer(options: Partial<ServerOptions> = {}): Promise<GymTcpServer> {
  return GymTcpServer.listen({ port: 0, workers: 2, ...options });
}

export function golden(name: string): any {
  return JSON.parse(goldenText(name));
}

/**
 * A byte-level client for the tests: the scripts' ReplySocket (exact bytes out, each reply's raw
 * bytes in), plus the shorthands the tests use. Independent of the product's GymClient on purpose.
 */
export class RawClient extends ReplySocket {
  static override connect(portOrServer: number | GymTcpServer, host = '127.0.0.1'): Promise<RawClient> {
    const port = typeof portOrServer === 'number' ? portOrServer : portOrServer.address().port;
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  send(data: string | Buffer): void {
    this.write(data);
  }

  /** The next reply's bytes, terminator removed; rejects if none comes. */
  async nextRaw(timeoutMs = 5000): Promise<Buffer> {
    const reply = await this.next(timeoutMs);
    if (typeof reply === 'string') throw new Error(`no reply: ${reply}`);
    return reply;
  }

  async nextJson(compressed = false): Promise<any> {
    const raw = await this.nextRaw();
    return JSON.parse(compressed ? inflateSync(raw).toString() : raw.toString());
  }

  /** Sends one line with CRLF and returns the parsed reply. */
  async ask(line: string, compressed = false): Promise<any> {
    this.send(line + '\r\n');
    return this.nextJson(compressed);
  }

  /** Bytes received but not (yet) taken as replies: whole replies queued, and a partial one. */
  get unread(): number {
    return this.queued + this.partial;
  }
}

