/**
 * The REST front's HTTP plumbing on Node's own `http` module (or `https` with TLS): accepting a
 * request, the checks made before any route (shutting down, token, content encoding), reading the
 * body within its limit, writing a route's Reply, and the graceful stop that answers the requests in
 * flight. Routes and envs are not its business: it hands each request to `dispatch`.
 *
 * Keep-alive is on (Node's default), with a longer idle timeout than Node's 5 s so an agent that
 * thinks between steps keeps its connection. Every connection counts against the connection limits
 * shared with the TCP front (ConnectionLimit), from accept, a TLS handshake included.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { SERVE_OPTIONS } from '../config/options.js';
import { BufferBudget, DEFAULT_MAX_BUFFERED_BYTES, PendingBytes } from '../net/buffer-budget.js';
import { ConnectionLimit, type ConnectionRefusal } from '../net/connection-limit.js';
import { listen } from '../net/listen.js';
import { countOne } from '../stats.js';
import { authorizationError } from './authorization.js';
import { HttpError, errorReply } from './errors.js';
import { RequestBody } from './params.js';
import type { RestServerOptions } from './rest-server.js';
import type { Reply } from './router.js';

/** The options this part reads (RestServer's; declared there). */
export type HttpServerOptions = Pick<
  RestServerOptions,
  'maxBodyBytes' | 'keepAliveTimeoutMs' | 'requestTimeoutMs' | 'handshakeTimeoutMs' | 'authToken' | 'tls' | 'bufferBudget' | 'connectionLimit'
>;

export type Dispatch = (method: string, url: string, body: RequestBody) => Promise<Reply>;

export class HttpServer {
  readonly #server: http.Server | https.Server;
  readonly #options: HttpServerOptions;
  /** Requests received, and error replies by status, since start (stats(); never reset). */
  received = 0;
  readonly errors = new Map<number, number>();
  /** What bodies still arriving hold, over all connections (shared with the TCP front when the CLI runs both). */
  readonly #bufferBudget: BufferBudget;
  readonly #dispatch: Dispatch;
  #inFlight = 0;
  #closing = false;

  /** `options` are read at each request (the RestServer's options). */
  constructor(options: HttpServerOptions, dispatch: Dispatch) {
    this.#options = options;
    this.#bufferBudget = options.bufferBudget ?? new BufferBudget(DEFAULT_MAX_BUFFERED_BYTES);
    this.#dispatch = dispatch;
    const accept = (req: http.IncomingMessage, res: http.ServerResponse) => this.#accept(req, res);
    const timeouts: http.ServerOptions = {
      requireHostHeader: false,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      // A request's headers and body must arrive within --request-timeout of its first byte; past it
      // Node answers 408 and closes the connection. Node's own deadlines (60 s for headers, 300 s for
      // the whole request) let a body at one byte a second hold a connection for five minutes. An idle
      // keep-alive connection is not inside a request: keepAliveTimeout closes it, not these.
      requestTimeout: options.requestTimeoutMs,
      headersTimeout: options.requestTimeoutMs > 0 ? options.requestTimeoutMs : 60_000,
      // Node checks these deadlines on an interval (30 s by default, which would make a 30 s deadline
      // up to 60 s): a tenth of the deadline, within 250 ms .. 30 s. Each check walks only the
      // connections inside a request.
      connectionsCheckingInterval: Math.min(30_000, Math.max(250, Math.floor((options.requestTimeoutMs || 300_000) / 10))),
    };
    this.#server = options.tls
      ? https.createServer({ ...timeouts, cert: options.tls.cert, key: options.tls.key, handshakeTimeout: options.handshakeTimeoutMs }, accept)
      : http.createServer(timeouts, accept);
    this.#server.on('tlsClientError', (_err: Error, socket: { destroy(): void }) => socket.destroy());
    // Alone (no TCP front's count to share), a count of its own with the options' defaults.
    const connectionLimit =
      options.connectionLimit ?? new ConnectionLimit(SERVE_OPTIONS.maxConnections.default, SERVE_OPTIONS.maxConnectionsPerAddress.default);
    connectionLimit.guard(this.#server, 'REST', (socket, refusal) => (options.tls ? socket.destroy() : refuseConnection(socket, refusal)));
  }

  listen(port: number, host: string): Promise<void> {
    return listen(this.#server, port, host);
  }

  address(): { host: string; port: number } {
    const address = this.#server.address() as AddressInfo;
    return { host: address.address, port: address.port };
  }

  /**
   * No new connections; from now on every request is answered 503 and every reply closes its
   * connection. Resolves once the requests in flight are answered (or `drainTimeoutMs` has passed and
   * the connections left are cut) and the server is closed.
   */
  async close(drainTimeoutMs: number): Promise<void> {
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const deadline = Date.now() + drainTimeoutMs;
    while (this.#inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.#server.closeAllConnections();
    await closed;
  }

  #accept(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.received += 1;
    this.#inFlight += 1;
    let counted = true;
    const done = () => {
      if (counted) {
        counted = false;
        this.#inFlight -= 1;
      }
    };
    res.once('finish', done);
    res.once('close', done);
    req.on('error', () => {});
    res.on('error', () => {});

    if (this.#closing) {
      this.#write(res, errorReply(new HttpError(503, 'the server is shutting down')));
      return;
    }
    if (this.#options.authToken !== undefined) {
      const refused = authorizationError(req.headers.authorization, this.#options.authToken);
      if (refused) {
        this.#write(res, errorReply(refused));
        return;
      }
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      this.#write(res, errorReply(new HttpError(415, `Content-Encoding ${encoding} is not supported: send the JSON body as it is`)));
      return;
    }
    readBody(
      req,
      this.#options.maxBodyBytes,
      this.#bufferBudget,
      (text) =>
        this.#dispatch(req.method ?? 'GET', req.url ?? '/', new RequestBody(text, req.headers, req.url)).then(
          (reply) => this.#write(res, reply),
          (err) => this.#write(res, errorReply(err)),
        ),
      (refusal) => this.#write(res, refusal),
    );
  }

  #write(res: http.ServerResponse, reply: Reply): void {
    if (res.headersSent || res.destroyed) return;
    if (reply.status >= 400) countOne(this.errors, reply.status);
    const headers: Record<string, string | number> = { ...reply.headers };
    if (this.#closing) headers.Connection = 'close';
    if (reply.stream) {
      if (reply.contentType) headers['Content-Type'] = reply.contentType;
      res.writeHead(reply.status, headers);
      // HEAD gets the headers only: a stream that never ends would hold its keep-alive connection.
      if (res.req.method === 'HEAD') res.end();
      else reply.stream(res);
    } else if (reply.status === 204) {
      res.writeHead(204, headers);
      res.end();
    } else {
      const body = reply.body ?? '';
      headers['Content-Type'] = reply.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
      res.writeHead(reply.status, headers);
      res.end(body);
    }
    if (reply.after) res.once('finish', () => setImmediate(reply.after!));
  }
}

/**
 * Answers a connection over the limits before reading any request from it (503 when the server is
 * full, 429 when its address is), then ends it; what the client sends meanwhile is read and dropped,
 * so that its close is seen.
 */
function refuseConnection(socket: Socket, refusal: ConnectionRefusal): void {
  const reply = errorReply(new HttpError(refusal.limit === 'server' ? 503 : 429, refusal.message));
  const status = refusal.limit === 'server' ? '503 Service Unavailable' : '429 Too Many Requests';
  socket.end(
    `HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(reply.body!)}\r\n` +
      `Retry-After: 1\r\nConnection: close\r\n\r\n${reply.body}`,
  );
  socket.resume();
}

/**
 * Reads a request's body whole, up to `limit` bytes, and hands its text to `receive`. A body over the
 * limit (declared in Content-Length, or as it arrives) is refused: `refuse` gets the 413, which closes
 * the connection, and `receive` is never called.
 */
function readBody(
  req: http.IncomingMessage,
  limit: number,
  budget: BufferBudget,
  receive: (text: string) => void,
  refuse: (reply: Reply) => void,
): void {
  const refusal = (message: string) => errorReply(new HttpError(413, message, { Connection: 'close' }));
  const tooLarge = `the request body is larger than ${limit} bytes`;
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) {
    refuse(refusal(tooLarge));
    return;
  }
  // Copied into one buffer charged to the budget shared with the TCP front: kept as they come, the
  // chunks of a body sent a byte per chunk cost ~450 bytes of RSS per byte (each keeps its read alive).
  const body = new PendingBytes(budget, declared >= 0 ? declared : limit);
  let rejected = false;
  req.on('data', (chunk: Buffer) => {
    if (rejected) return;
    const refused = body.append(chunk);
    if (!refused) return;
    rejected = true;
    body.clear();
    refuse(refusal(refused === 'too-long' ? tooLarge : budget.refusal('body')));
  });
  // A body never finished (the client went away) gives its memory back too.
  req.once('close', () => body.clear());
  req.on('end', () => {
    if (rejected) return;
    const text = body.view().toString('utf8');
    body.clear();
    receive(text);
  });
}
