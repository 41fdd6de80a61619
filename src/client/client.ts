/**
 * A TypeScript client for gym-tcp (and for gym-tcp-api servers): the protocol of docs/protocol.md, one
 * environment per connection. Requests that get a reply return a promise of it; the silent ones
 * (seed, compression, record_episode_stats, close) return nothing — should the server reject one,
 * its error reply arrives in order and rejects the next awaited request.
 */
import net from 'node:net';
import tls from 'node:tls';
import { inflateSync } from 'node:zlib';
import type { z } from 'zod';
import { replySchemas, request, requestLine, type RequestMessage, type ResetReply, type SpaceInfo, type StepReply } from '../protocol/messages.js';

import { VectorEnvClient, type VectorMakeOptions } from './vector-client.js';

export type { ResetReply, SpaceInfo, StepReply };
export { VectorEnvClient };
export type { Actions, Batch, VectorMakeOptions, VectorStepResult } from './vector-client.js';

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
    if (options.authToken !== undefined) await client.request(request.auth(options.authToken));
    return client;
  }

  /** Sends one request object and resolves with its (decompressed, parsed) reply. */
  request<T = Record<string, unknown>>(message: RequestMessage): Promise<T> {
    return this.requestLine(requestLine(message));
  }

  /**
   * Sends one request and resolves with its reply, checked against the reply's schema. `T` is the
   * schema's output, or a narrower view of it the caller promises (an observation's type).
   */
  async #ask<T>(message: RequestMessage, schema: z.ZodType<T> | z.ZodType): Promise<T> {
    const reply = await this.request<unknown>(message);
    const checked = schema.safeParse(reply);
    if (!checked.success) throw new Error(`unexpected reply ${JSON.stringify(reply).slice(0, 200)}: ${checked.error.issues.map((i) => `${i.path.join('.') || 'reply'}: ${i.message}`).join('; ')}`);
    return checked.data as T;
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
  sendSilent(message: RequestMessage): void {
    this.sendLine(requestLine(message));
  }

  /** Sends a raw line (without terminator) that gets no reply. */
  sendLine(line: string): void {
    this.#socket.write(line + '\r\n');
  }

  /**
   * gym-tcp's vector env (docs/vector.md): `numEnvs` sub-envs of `name` on this connection, in place
   * of its env. Batches come back as typed arrays; `encoding` is `base64` unless told otherwise.
   */
  async makeVector(name: string, numEnvs: number, options: VectorMakeOptions = {}): Promise<VectorEnvClient> {
    const make = { name, num_envs: numEnvs, kwargs: options.kwargs ?? {}, autoreset: options.autoreset ?? 'next_step', encoding: options.encoding ?? 'base64' };
    const reply = await this.requestLine<{ instance: string; num_envs: number; autoreset: VectorEnvClient['autoreset']; encoding: VectorEnvClient['encoding']; single_observation_space: SpaceInfo; single_action_space: SpaceInfo }>(
      JSON.stringify({ vector: { make } }),
    );
    return new VectorEnvClient(this, reply.instance, reply.num_envs, reply.autoreset, reply.encoding, reply.single_observation_space, reply.single_action_space);
  }

  async make(name: string, kwargs?: Record<string, unknown>): Promise<string> {
    return (await this.#ask(request.make(name, kwargs), replySchemas.make)).instance;
  }

  async observationSpace(): Promise<SpaceInfo> {
    return (await this.#ask(request.observationSpace(), replySchemas.space)).info;
  }

  async actionSpace(): Promise<SpaceInfo> {
    return (await this.#ask(request.actionSpace(), replySchemas.space)).info;
  }

  async sample<A = unknown>(): Promise<A> {
    return (await this.#ask<{ sample: A }>(request.sample(), replySchemas.sample)).sample;
  }

  /** `options`: Gymnasium's `reset(options=…)` for the envs that read some (docs/protocol.md §9.12). */
  reset<O = unknown>(options?: Record<string, unknown>): Promise<ResetReply<O>> {
    return this.#ask<ResetReply<O>>(request.reset(options), replySchemas.reset);
  }

  step<O = unknown>(action: unknown, render = false): Promise<StepReply<O>> {
    return this.#ask<StepReply<O>>(request.step(action, render), replySchemas.step);
  }

  /** Seeds the action space now and the env at the next reset (docs/protocol.md §6). */
  seed(seed: number | bigint): void {
    this.sendSilent(request.seed(seed));
  }

  compression(level: number): void {
    this.sendSilent(request.compression(level));
  }

  recordEpisodeStats(enabled = true): void {
    this.sendSilent(request.recordEpisodeStats(enabled));
  }

  closeEnv(): void {
    this.sendSilent(request.close());
  }

  /** gym-tcp's extension (docs/protocol.md §9.8): the env's current frame, H×W×3 RGB bytes, top row first. */
  async frame(): Promise<{ width: number; height: number; data: Buffer }> {
    const { frame } = await this.#ask(request.render(), replySchemas.frame);
    return { width: frame.shape[1], height: frame.shape[0], data: Buffer.from(frame.data, 'base64') };
  }

  /** gym-tcp's extension (docs/protocol.md §9.8): the env's `ansi` text, for the toy-text envs. */
  async text(): Promise<string> {
    return (await this.#ask(request.render('ansi'), replySchemas.text)).text;
  }

  async url(): Promise<string> {
    return (await this.#ask(request.url(), replySchemas.url)).url;
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
    // Only a reply with an `error` key is checked as one: the common replies pay no schema for it.
    const failed = typeof reply === 'object' && reply !== null && 'error' in reply ? replySchemas.error.safeParse(reply) : null;
    if (failed?.success) waiter.reject(new GymServerError(failed.data.error.code, failed.data.error.message));
    else waiter.resolve(reply);
  }

  #fail(err: Error): void {
    this.#closedError ??= err;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(err);
  }
}
