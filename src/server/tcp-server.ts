import net from 'node:net';
import tls from 'node:tls';
import { frontSettings, type FrontSettings } from '../config/options.js';
import { EnvPool } from '../pool/env-pool.js';
import { LiveEnvs } from '../live/live-envs.js';
import { errorReply } from '../protocol/reply.js';
import { frameReply } from './framing.js';
import { Connection, type ConnectionLimits } from './connection.js';
import { listen } from '../net/listen.js';
import { BufferBudget } from '../net/buffer-budget.js';
import { ConnectionLimit, fileDescriptors } from '../net/connection-limit.js';
import { adoptWithSharedReads } from './shared-reads.js';
import { REFUSAL_REASONS, zeroCounts, type TcpStats } from '../stats.js';
import type { Log } from '../ops/log.js';
import { FrameBus } from '../live/frame-bus.js';
import { Recorder } from '../recording/recorder.js';
import { HttpOnTcp, looksLikeHttp } from './http-on-tcp.js';

/**
 * The fields the CLI sets (port, host, workers, spinMicros, the limits and timeouts) and their
 * defaults are declared with their options in src/config/options.ts.
 */
export interface ServerOptions extends FrontSettings<'tcp'>, ConnectionLimits {
  /** Where operational events go (a worker thread stopping; at debug, each connection); none by default. */
  log?: Log;
  /** PEM certificate chain and key: serve TLS instead of plain TCP. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export const DEFAULT_SERVER_OPTIONS: ServerOptions = frontSettings('tcp');

/** The gym-tcp TCP front: accepts connections and pins each to a slot of the env worker pool. */
export class GymTcpServer {
  readonly pool: EnvPool;
  readonly options: ServerOptions;
  /** What unfinished requests hold, over every connection; the REST front shares it (see the CLI). */
  readonly bufferBudget: BufferBudget;
  /** Where rendered frames go (options.frames, or a bus of its own); the recorder listens to it. */
  readonly frames: FrameBus;
  /** Rendered episodes into videos (`url` links, GET /v1/recordings). */
  readonly recorder: Recorder;
  readonly #server: net.Server;
  readonly #connections = new Set<Connection>();
  /** Connections of both fronts (the REST front shares it, see the CLI); made once the workers run. */
  #connectionLimit: ConnectionLimit | null = null;
  /** Older clients' monitors still writing their files after their connection closed (close() waits for them). */
  readonly #monitorsWriting = new Set<Promise<void>>();
  /** The HTTP port that serves /recordings/, once the REST front listens; `url` replies link there. */
  #recordingsPort: number | null = null;
  #closing: Promise<void> | null = null;
  #sharedReadsMissingLogged = false;
  /** Counters for stats(). */
  #accepted = 0;
  readonly #refused = zeroCounts(REFUSAL_REASONS);

  private constructor(options: ServerOptions) {
    this.frames = options.frames ?? new FrameBus();
    this.recorder = new Recorder({ dir: options.recordingsDir, maxBytes: options.maxRecordingsBytes, encoders: options.videoEncoders, log: options.log });
    this.options = { ...options, frames: this.frames, recorder: this.recorder };
    this.recorder.attach(this.frames);
    this.bufferBudget = new BufferBudget(options.maxBufferedBytes);
    this.pool = new EnvPool({
      workers: options.workers,
      spinMicros: options.spinMicros,
      maxEnvs: options.maxEnvs,
      maxInFlightPerSession: options.maxInFlightPerConnection,
      prepareThreads: options.prepareThreads,
      maxNumEnvs: options.maxNumEnvs,
      vectorShardSize: options.vectorShardSize,
      onWorkerLost: (slot) =>
        options.log?.(`worker thread ${slot} stopped; Piscina starts another and its sessions are rebuilt there`, { event: 'WORKER_LOST', level: 'error', worker: slot }),
    });
    // The live view's directory of envs watches the pool from the start, whichever HTTP side serves
    // the page, and reads frames from the server's one bus.
    LiveEnvs.of(this.pool, this.frames);
    // Said once at start, so that neither looks like a mistake when figures are compared.
    if (options.spinMicros > 0 && !this.pool.maySpin) {
      options.log?.('this process may use one core: threads sleep instead of spinning (--spin-us has no effect here)', { event: 'ONE_CORE', level: 'info' });
    }
    if (process.platform === 'linux' && !this.pool.wakesWithDoorbells) {
      options.log?.('cannot make doorbell pipes (mkfifo in the temporary directory): idle workers sleep in Atomics.wait (slower under load)', { event: 'NO_DOORBELLS' });
    }
    this.#server = options.tls
      ? tls.createServer(
          { cert: options.tls.cert, key: options.tls.key, noDelay: true, allowHalfOpen: true, handshakeTimeout: options.handshakeTimeoutMs },
          (socket) => this.#acceptTls(socket),
        )
      : net.createServer({ noDelay: true, allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.#acceptPlain(socket));
    // A client that fails the TLS handshake never becomes a connection; nothing to do but drop it.
    this.#server.on('tlsClientError', (_err: Error, socket: net.Socket) => socket.destroy());
  }

  /** Starts the workers, then listens. */
  static async listen(options: Partial<ServerOptions> = {}): Promise<GymTcpServer> {
    const server = new GymTcpServer({ ...DEFAULT_SERVER_OPTIONS, ...options });
    await server.pool.start();
    // After the workers start, so that the descriptors they hold (doorbell pipes) count as in use.
    server.#connectionLimit = new ConnectionLimit(server.options.maxConnections, server.options.maxConnectionsPerAddress, server.options.log, fileDescriptors());
    server.#connectionLimit.guard(server.#server, 'TCP', (socket, refusal) => {
      server.#refused[refusal.limit === 'server' ? 'maxConnections' : 'maxConnectionsPerAddress'] += 1;
      // Before a TLS handshake nothing can be said that the client would read: closed at once.
      if (server.options.tls) socket.destroy();
      else {
        // Said before any request, so it is the reply a client reads first; then the connection ends.
        // Read (and dropped) so that the client's close is seen and frees the descriptor at once.
        socket.end(frameReply(errorReply('TOO_MANY_CONNECTIONS', refusal.message).json, 0));
        socket.resume();
      }
    });
    await listen(server.#server, server.options.port, server.options.host);
    return server;
  }

  address(): { host: string; port: number } {
    const address = this.#server.address() as net.AddressInfo;
    return { host: address.address, port: address.port };
  }

  /** Makes `url` replies point at the HTTP front's port (without --public-url). */
  serveRecordingsOn(port: number): void {
    this.#recordingsPort = port;
  }

  /** The server's own address as the client reached it: where its recordings are (or will be) served. */
  #urlBaseOf(socket: net.Socket): string {
    const host = socket.localAddress ?? '127.0.0.1';
    const scheme = this.options.tls ? 'https' : 'http';
    return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${this.#recordingsPort ?? socket.localPort}`;
  }

  /** The count of connections over both fronts, against --max-connections(-per-address): the REST front takes it too. */
  get connectionLimit(): ConnectionLimit {
    return this.#connectionLimit!;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** The TCP front's figures and the pool's (src/stats.ts); reading them resets nothing. */
  stats(): TcpStats {
    return {
      connections: { open: this.#connections.size, accepted: this.#accepted, refused: { ...this.#refused } },
      pool: this.pool.stats(),
    };
  }

  /** Plain TCP: the socket reads into a buffer shared by all connections (see shared-reads.ts). */
  #acceptPlain(accepted: net.Socket): void {
    let connection: Connection | null = null;
    const route = this.#routeFirstBytes(() => socket, () => connection);
    const { socket, adopted } = adoptWithSharedReads(accepted, route);
    if (!adopted && !this.#sharedReadsMissingLogged) {
      // Correct either way, but slower: an operator comparing figures after a Node upgrade should know.
      this.#sharedReadsMissingLogged = true;
      this.options.log?.('this Node cannot move an accepted socket into one with a shared read buffer; connections read one buffer per read (slower)', {
        event: 'NO_SHARED_READS',
      });
    }
    connection = this.#accept(socket);
  }

  #acceptTls(socket: net.Socket): void {
    const connection = this.#accept(socket);
    if (connection) socket.on('data', this.#routeFirstBytes(() => socket, () => connection));
  }

  /**
   * A connection's bytes go to its Connection, unless its first bytes are an HTTP request (a `url`
   * link fetched from this port; http-on-tcp.ts): then to that request, and the Connection never
   * sees a byte (it sends no item to any worker; it ends with the socket).
   */
  #routeFirstBytes(socket: () => net.Socket, connection: () => Connection | null): (chunk: Buffer) => void {
    let http: HttpOnTcp | null | undefined;
    /** The first bytes while too few to tell (a copy: the read buffer is reused). */
    let first: Buffer | null = null;
    return (chunk) => {
      if (http === undefined) {
        const bytes: Buffer = first ? Buffer.concat([first, chunk]) : chunk;
        const verdict = looksLikeHttp(bytes);
        if (verdict === null) {
          first = Buffer.from(bytes);
          return;
        }
        http = verdict ? new HttpOnTcp(socket(), this.recorder) : null;
        chunk = bytes;
        first = null;
      }
      if (http) http.receive(chunk);
      else connection()?.receive(chunk);
    };
  }

  /**
   * Makes the socket a Connection, or closes it when the server is closing. (The connection limits
   * were checked when it was accepted: see ConnectionLimit.guard.)
   */
  #accept(socket: net.Socket): Connection | null {
    if (this.#closing) {
      this.#refused.closing += 1;
      socket.destroy();
      return null;
    }
    this.#accepted += 1;
    const connection = new Connection(
      this.pool.allocateSessionId(),
      socket,
      this.pool.assignSlot(),
      this.pool,
      this.options.publicUrl ?? this.#urlBaseOf(socket),
      this.options,
      this.bufferBudget,
      (closed) => {
        if (closed.refusedWith !== null) this.#refused[closed.refusedWith === 'AUTH_FAILED' ? 'authFailed' : 'authRequired'] += 1;
        // Refused at the auth line: said at info (someone without the token); any other close at debug.
        this.options.log?.(closed.refusedWith !== null ? `connection ${closed.id} refused at its first line` : `connection ${closed.id} closed`, {
          event: closed.refusedWith !== null ? 'CONNECTION_REFUSED' : 'CONNECTION_CLOSED',
          level: closed.refusedWith !== null ? 'info' : 'debug',
          conn: closed.id,
          remote: socket.remoteAddress,
          instance: closed.lastInstance,
          code: closed.refusedWith,
        });
        this.#connections.delete(closed);
        this.#monitorsWriting.add(closed.monitorWritten);
        void closed.monitorWritten.then(() => this.#monitorsWriting.delete(closed.monitorWritten));
      },
    );
    this.#connections.add(connection);
    this.options.log?.(`connection ${connection.id} opened`, { event: 'CONNECTION_OPENED', level: 'debug', conn: connection.id, remote: socket.remoteAddress });
    return connection;
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
      await Promise.all(this.#monitorsWriting);
      await this.pool.close();
      await this.recorder.close();
    })();
    return this.#closing;
  }
}
