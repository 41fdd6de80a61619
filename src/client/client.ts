/**
 * A TypeScript client for gym-tcp (and for gym-tcp-api servers): the protocol of PROTOCOL.md, one
 * environment per connection. Requests that get a reply return a promise of it; the silent ones
 * (seed, compression, record_episode_stats, close) return nothing — should the server reject one,
 * its error reply arrives in order and rejects the next awaited request.
 */
import net from 'node:net';
import tls from 'node:tls';
import { inflateSync } from 'node:zlib';

export interface SpaceInfo {
  name: string;
  n?: number;
  start?: number;
  shape?: number[];
  low?: number[];
  high?: number[];
  dtype?: string;
  [key: string]: unknown;
}

export interface StepReply<O = unknown> {
  observation: O;
  reward: number;
  done: boolean;
  terminated: boolean;
  truncated: boolean;
  info: Record<string, unknown>;
}

/** An `{"error": {"code", "message"}}` reply. */
export class GymServerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

const TERMINATOR = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);

interface Waiter {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export class GymClient {
  readonly #socket: net.Socket;
  readonly #waiters: Waiter[] = [];
  #buffer: Buffer = EMPTY;
  #closedError: Error | null = null;

  private constructor(socket: net.Socket, readsInPlace: boolean) {
    this.#socket = socket;
    socket.setNoDelay(true);
    // A plain TCP socket reads into one buffer of this client's (see connect): the data is handled
    // before the next read, and only an unfinished reply is copied out. TLS gets a chunk per read.
    if (!readsInPlace) socket.on('data', (chunk: Buffer) => this.#onData(chunk, false));
    socket.on('error', (err) => this.#fail(err));
    socket.on('close', () => this.#fail(new Error('connection closed by the server')));
  }

  /**
   * Opens a connection. `tls` connects with TLS (options such as `ca` for a self-signed server
   * certificate); `authToken` sends `{"auth": …}` first, for servers started with --auth-token.
   */
  static async connect(
    port = 4040,
    host = '127.0.0.1',
    options: { tls?: tls.ConnectionOptions; authToken?: string } = {},
  ): Promise<GymClient> {
    const client = await new Promise<GymClient>((resolve, reject) => {
      let made: GymClient | null = null;
      // Otherwise Node allocates a buffer per read, which costs more than parsing a CartPole reply.
      const onread = { buffer: Buffer.allocUnsafe(64 * 1024), callback: (n: number, buf: Uint8Array) => (made!.#onData(buf as Buffer, true, n), true) };
      const socket = options.tls ? tls.connect({ port, host, servername: host, ...options.tls }) : net.connect({ port, host, onread });
      socket.once(options.tls ? 'secureConnect' : 'connect', () => {
        socket.off('error', reject);
        resolve((made = new GymClient(socket, !options.tls)));
      });
      socket.once('error', reject);
    });
    if (options.authToken !== undefined) await client.request({ auth: options.authToken });
    return client;
  }

  /** Sends one request object and resolves with its (decompressed, parsed) reply. */
  request<T = Record<string, unknown>>(message: object): Promise<T> {
    return this.requestLine(JSON.stringify(message));
  }

  /** Sends a raw line (without terminator) and resolves with the parsed reply. */
  requestLine<T = Record<string, unknown>>(line: string): Promise<T> {
    if (this.#closedError) return Promise.reject(this.#closedError);
    return new Promise<T>((resolve, reject) => {
      this.#waiters.push({ resolve: resolve as (v: unknown) => void, reject });
      this.#socket.write(line + '\r\n');
    });
  }

  /** Sends a request that gets no reply. */
  sendSilent(message: object): void {
    this.#socket.write(JSON.stringify(message) + '\r\n');
  }

  async make(name: string, kwargs?: Record<string, unknown>): Promise<string> {
    const env: Record<string, unknown> = { name };
    if (kwargs) env.kwargs = kwargs;
    const reply = await this.request<{ instance: string }>({ env });
    return reply.instance;
  }

  async observationSpace(): Promise<SpaceInfo> {
    return (await this.request<{ info: SpaceInfo }>({ env: { action: 'observationspace' } })).info;
  }

  async actionSpace(): Promise<SpaceInfo> {
    return (await this.request<{ info: SpaceInfo }>({ env: { action: 'actionspace' } })).info;
  }

  async sample<A = unknown>(): Promise<A> {
    return (await this.request<{ sample: A }>({ env: { actionspace: 'sample' } })).sample;
  }

  async reset<O = unknown>(): Promise<{ observation: O; info: Record<string, unknown> }> {
    return this.request({ env: { action: 'reset' } });
  }

  step<O = unknown>(action: unknown, render = false): Promise<StepReply<O>> {
    return this.request({ step: { action, render: render ? 1 : 0 } });
  }

  /** Seeds the action space now and the env at the next reset (see the README). */
  seed(seed: number | bigint): void {
    this.sendSilent({ env: { seed: String(seed) } });
  }

  compression(level: number): void {
    this.sendSilent({ server: { compression: String(level) } });
  }

  recordEpisodeStats(enabled = true): void {
    this.sendSilent({ record_episode_stats: { action: enabled ? 'start' : 'stop' } });
  }

  closeEnv(): void {
    this.sendSilent({ env: { action: 'close' } });
  }

  async url(): Promise<string> {
    return (await this.request<{ url: string }>({ url: { action: 'url' } })).url;
  }

  /** Closes the connection (the server frees its environment). */
  end(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#socket.destroyed) return resolve();
      this.#socket.once('close', () => resolve());
      this.#socket.end();
    });
  }

  /** `chunk`: the bytes read (its first `length` when `reused`: the next read overwrites them). */
  #onData(chunk: Buffer, reused: boolean, length = chunk.length): void {
    const joined = this.#buffer.length > 0;
    const data = joined ? Buffer.concat([this.#buffer, chunk.subarray(0, length)]) : chunk.subarray(0, length);
    let start = 0;
    for (let end = data.indexOf(TERMINATOR); end !== -1; end = data.indexOf(TERMINATOR, start)) {
      this.#onReply(data.subarray(start, end));
      start = end + TERMINATOR.length;
    }
    const rest = data.subarray(start);
    // An unfinished reply still in the reused buffer is copied out before the next read lands there.
    this.#buffer = rest.length === 0 ? EMPTY : reused && !joined ? Buffer.from(rest) : rest;
  }

  #onReply(body: Buffer): void {
    const waiter = this.#waiters.shift();
    if (!waiter) return; // a reply nobody waits for: an error to a silent request with none after it
    let reply: Record<string, unknown>;
    try {
      // JSON replies start with '{'; anything else is a zlib stream (compression is on).
      const text = body[0] === 0x7b ? body.toString('utf8') : inflateSync(body).toString('utf8');
      reply = JSON.parse(text);
    } catch (err) {
      waiter.reject(new Error(`unreadable reply: ${(err as Error).message}`));
      return;
    }
    const error = reply.error as { code: string; message: string } | undefined;
    if (error && typeof error === 'object') waiter.reject(new GymServerError(error.code, error.message));
    else waiter.resolve(reply);
  }

  #fail(err: Error): void {
    this.#closedError ??= err;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(err);
  }
}
