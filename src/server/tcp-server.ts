import net from 'node:net';
import { EnvPool } from '../pool/env-pool.js';
import { Connection } from './connection.js';

export interface ServerOptions {
  port: number;
  host: string;
  workers: number;
  /** Longest request line accepted, in bytes; a longer one gets LINE_TOO_LONG and the connection closes. */
  maxLineBytes: number;
  /** Requests a connection may have in flight before the server stops reading from it. */
  maxPipeline: number;
  /** Base of `url` replies; defaults to http://<address the client connected to>:<port>. */
  publicUrl?: string;
  /** How long close() waits for in-flight requests, in ms. */
  drainTimeoutMs: number;
}

export const DEFAULT_SERVER_OPTIONS: ServerOptions = {
  port: 4040,
  host: '127.0.0.1',
  workers: 4,
  maxLineBytes: 1024 * 1024,
  maxPipeline: 1024,
  drainTimeoutMs: 10_000,
};

/** The gym-tcp TCP front: accepts connections and pins each to a slot of the env worker pool. */
export class GymTcpServer {
  readonly pool: EnvPool;
  readonly options: ServerOptions;
  readonly #server: net.Server;
  readonly #connections = new Set<Connection>();
  #closing: Promise<void> | null = null;

  private constructor(options: ServerOptions) {
    this.options = options;
    this.pool = new EnvPool({ workers: options.workers });
    this.#server = net.createServer({ noDelay: true }, (socket) => this.#accept(socket));
  }

  /** Starts the workers, then listens. */
  static async listen(options: Partial<ServerOptions> = {}): Promise<GymTcpServer> {
    const server = new GymTcpServer({ ...DEFAULT_SERVER_OPTIONS, ...options });
    await server.pool.start();
    await new Promise<void>((resolve, reject) => {
      server.#server.once('error', reject);
      server.#server.listen(server.options.port, server.options.host, () => {
        server.#server.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  address(): { host: string; port: number } {
    const address = this.#server.address() as net.AddressInfo;
    return { host: address.address, port: address.port };
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  #accept(socket: net.Socket): void {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    const connection = new Connection(
      this.pool.allocateSessionId(),
      socket,
      this.pool.assignSlot(),
      this.pool,
      this.options.publicUrl ?? urlBaseOf(socket),
      this.options,
      (closed) => {
        this.#connections.delete(closed);
        this.pool.releaseSlot(closed.slot);
      },
    );
    this.#connections.add(connection);
  }

  /**
   * Graceful stop: no new connections, no new requests read; requests already read are answered,
   * then each connection is ended and the workers stop. Connections still busy after the drain
   * timeout are cut.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      for (const connection of this.#connections) connection.drain();
      const deadline = Date.now() + this.options.drainTimeoutMs;
      while (this.#connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      for (const connection of this.#connections) connection.socket.destroy();
      await closed;
      await this.pool.close();
    })();
    return this.#closing;
  }
}

function urlBaseOf(socket: net.Socket): string {
  const host = socket.localAddress ?? '127.0.0.1';
  return `http://${host.includes(':') ? `[${host}]` : host}:${socket.localPort}`;
}
