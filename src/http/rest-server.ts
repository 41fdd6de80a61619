/**
 * The gym-http-api REST front: openai/gym-http-api's routes, request and response shapes and error
 * messages, plus the gym-server variant's help/create/info routes, on the same worker pool as the TCP
 * front. Each env made over REST is a RestEnv (a pool session of its own); this file routes requests to
 * them and keeps their lifetime (idle timeout, how many may exist).
 *
 * Node's own `http` module: a REST step costs one small JSON body in and one out, and what dominates is
 * HTTP parsing and the round trip to the worker, which a framework would only add to (routing here is a
 * table of a dozen patterns). Keep-alive is on (Node's default), with a longer idle timeout than Node's
 * 5 s so an agent that thinks between steps keeps its connection.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import type { EnvPool } from '../pool/env-pool.js';
import { toPyJson } from '../json/pyjson.js';
import { tokenMatches } from '../net/auth.js';
import { listen } from '../net/listen.js';
import { request, requestLine } from '../protocol/messages.js';
import { EpisodeMonitor, MonitorError } from './monitor.js';
import {
  HttpError,
  RequestBody,
  badRequest,
  flagParam,
  optionalParam,
  preview,
  pyStr,
  requiredParam,
  seedParam,
} from './params.js';
import { RestEnv, type ProtocolReply } from './rest-env.js';
import { countOne, type RestStats } from '../stats.js';

export interface RestServerOptions {
  port: number;
  host: string;
  /** Monitor directories are confined under this one (created on demand). */
  monitorRoot: string;
  /** An env untouched this long (ms) is closed; 0 keeps envs until they are closed. */
  idleTimeoutMs: number;
  /** How many REST envs may exist at once; creating one more is a 429. */
  maxEnvs: number;
  /** Whether POST /v1/shutdown/ stops the server (otherwise it is a 403). */
  allowShutdown: boolean;
  /** What POST /v1/shutdown/ does when allowed (the CLI stops both fronts); default: close this server. */
  onShutdown?: () => void;
  /** Largest request body accepted; a larger one is a 413. */
  maxBodyBytes: number;
  /** How long close() waits for requests in flight, in ms. */
  drainTimeoutMs: number;
  /** How long an idle keep-alive connection is kept, in ms. */
  keepAliveTimeoutMs: number;
  /**
   * When set (the TCP front's token), every request must carry it: `Authorization: Bearer <token>`,
   * or HTTP Basic with the token as password or user name (`http://:<token>@host:5000` in a client's
   * base URL), so clients that cannot add headers still can. Otherwise 401.
   */
  authToken?: string;
  /** PEM certificate chain and key: serve HTTPS instead of HTTP (the TCP front's TLS settings). */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export const DEFAULT_REST_OPTIONS: RestServerOptions = {
  port: 5000,
  host: '127.0.0.1',
  monitorRoot: path.join(os.tmpdir(), 'monitor'),
  idleTimeoutMs: 3_600_000,
  maxEnvs: 10_000,
  allowShutdown: false,
  maxBodyBytes: 1024 * 1024,
  drainTimeoutMs: 10_000,
  keepAliveTimeoutMs: 30_000,
};

/** What a route answers. A JSON body ends with a newline, as Flask's jsonify writes it. */
interface Reply {
  status: number;
  body?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** Runs after the response has been sent. */
  after?: () => void;
}

type Params = Record<string, string>;
type Handler = (params: Params, body: RequestBody) => Reply | Promise<Reply>;

interface Route {
  pattern: string;
  segments: string[];
  method: 'GET' | 'POST';
  doc: string;
  handler: Handler;
}

const json = (body: string, status = 200): Reply => ({ status, body: body + '\n' });
const NO_CONTENT: Reply = { status: 204 };

/** The requests without arguments, written once. */
const LINES = {
  reset: requestLine(request.reset()),
  actionSpace: requestLine(request.actionSpace()),
  observationSpace: requestLine(request.observationSpace()),
  sample: requestLine(request.sample()),
};

export class RestServer {
  readonly options: RestServerOptions;
  readonly pool: EnvPool;
  readonly #server: http.Server | https.Server;
  readonly #envs = new Map<string, RestEnv>();
  readonly #routes: Route[];
  readonly #help: string;
  #creating = 0;
  #inFlight = 0;
  #sweeper: NodeJS.Timeout | null = null;
  #closing: Promise<void> | null = null;
  /** Counters for stats(). */
  #received = 0;
  #envsCreated = 0;
  #envsExpired = 0;
  readonly #routeCounts = new Map<string, number>();
  readonly #errorCounts = new Map<number, number>();

  private constructor(pool: EnvPool, options: RestServerOptions) {
    this.pool = pool;
    this.options = options;
    this.#routes = this.#routeTable();
    this.#help = helpJson(this.#routes);
    const accept = (req: http.IncomingMessage, res: http.ServerResponse) => this.#accept(req, res);
    this.#server = options.tls
      ? https.createServer({ cert: options.tls.cert, key: options.tls.key, requireHostHeader: false }, accept)
      : http.createServer({ requireHostHeader: false }, accept);
    this.#server.on('tlsClientError', (_err: Error, socket: { destroy(): void }) => socket.destroy());
    this.#server.keepAliveTimeout = options.keepAliveTimeoutMs;
    // Node wants the headers timeout above the keep-alive one, or it may cut a reused connection.
    this.#server.headersTimeout = Math.max(60_000, options.keepAliveTimeoutMs + 1000);
    if (options.idleTimeoutMs > 0) {
      const every = Math.min(60_000, Math.max(20, Math.floor(options.idleTimeoutMs / 4)));
      this.#sweeper = setInterval(() => this.#sweep(), every);
      this.#sweeper.unref();
    }
  }

  /** Serves REST on `options.port` for the envs of `pool` (a started GymTcpServer's pool). */
  static async listen(pool: EnvPool, options: Partial<RestServerOptions> = {}): Promise<RestServer> {
    const server = new RestServer(pool, { ...DEFAULT_REST_OPTIONS, ...options });
    await listen(server.#server, server.options.port, server.options.host);
    return server;
  }

  address(): { host: string; port: number } {
    const address = this.#server.address() as AddressInfo;
    return { host: address.address, port: address.port };
  }

  /** REST envs alive now. */
  get envCount(): number {
    return this.#envs.size;
  }

  /** The REST front's figures (src/stats.ts; its requests to the pool are in the pool's, under `rest`); reading them resets nothing. */
  stats(): RestStats {
    return {
      envs: { open: this.#envs.size, created: this.#envsCreated, expired: this.#envsExpired },
      received: this.#received,
      routes: Object.fromEntries(this.#routeCounts),
      errors: Object.fromEntries(this.#errorCounts),
    };
  }

  /**
   * Graceful stop: no new connections; requests in flight are answered (up to the drain timeout);
   * then every REST env is closed, its monitor files written, its session dropped. Call it before
   * the pool closes.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#sweeper) clearInterval(this.#sweeper);
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      this.#server.closeIdleConnections();
      const deadline = Date.now() + this.options.drainTimeoutMs;
      while (this.#inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      this.#server.closeAllConnections();
      await closed;
      const envs = [...this.#envs.values()];
      this.#envs.clear();
      await Promise.all(envs.map((env) => this.#dispose(env).catch(() => {})));
    })();
    return this.#closing;
  }

  // ---------------------------------------------------------------- HTTP

  #accept(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.#received += 1;
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
      this.#write(res, { status: 503, body: toPyJson({ message: 'the server is shutting down' }) + '\n' });
      return;
    }
    if (this.options.authToken !== undefined) {
      const refused = authProblem(req.headers.authorization, this.options.authToken);
      if (refused) {
        this.#write(res, errorReply(new HttpError(401, refused, { 'WWW-Authenticate': 'Bearer realm="gym-tcp", Basic realm="gym-tcp"' })));
        return;
      }
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      this.#write(res, errorReply(new HttpError(415, `Content-Encoding ${encoding} is not supported: send the JSON body as it is`)));
      return;
    }
    const limit = this.options.maxBodyBytes;
    const tooLarge = () =>
      errorReply(new HttpError(413, `the request body is larger than ${limit} bytes`, { Connection: 'close' }));
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      this.#write(res, tooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let rejected = false;
    req.on('data', (chunk: Buffer) => {
      if (rejected) return;
      size += chunk.length;
      if (size > limit) {
        rejected = true;
        this.#write(res, tooLarge());
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => {
      if (rejected) return;
      const text = chunks.length === 0 ? '' : chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
      this.#dispatch(req.method ?? 'GET', req.url ?? '/', new RequestBody(text)).then(
        (reply) => this.#write(res, reply),
        (err) => this.#write(res, errorReply(err)),
      );
    });
  }

  #write(res: http.ServerResponse, reply: Reply): void {
    if (res.headersSent || res.destroyed) return;
    if (reply.status >= 400) countOne(this.#errorCounts, reply.status);
    const headers: Record<string, string | number> = { ...reply.headers };
    if (this.#closing) headers.Connection = 'close';
    if (reply.status === 204) {
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

  async #dispatch(method: string, url: string, body: RequestBody): Promise<Reply> {
    const query = url.indexOf('?');
    const pathname = query === -1 ? url : url.slice(0, query);
    let segments = pathname.split('/');
    if (pathname.includes('%')) {
      try {
        segments = segments.map(decodeURIComponent);
      } catch {
        throw badRequest(`the path ${preview(pathname)} is not valid percent-encoding`);
      }
    }
    // Leading '' (the path starts with '/') and one trailing '' (a trailing slash, which is optional here).
    if (segments[0] === '') segments.shift();
    if (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();

    const wanted = method === 'HEAD' ? 'GET' : method;
    // A fixed route (`/v1/envs/create/`) wins over a pattern (`/v1/envs/<instance_id>/`): fewest parameters.
    let found: { route: Route; params: Params; size: number } | null = null;
    let pathKnown = false;
    for (const route of this.#routes) {
      const params = matchRoute(route.segments, segments);
      if (!params) continue;
      pathKnown = true;
      if (route.method !== wanted) continue;
      const size = Object.keys(params).length;
      if (!found || size < found.size) found = { route, params, size };
    }
    if (!pathKnown) throw new HttpError(404, `no route ${method} ${pathname}: GET /v1/help lists the routes`);
    if (!found || method === 'OPTIONS') {
      const allowed = [...new Set(this.#routes.filter((r) => matchRoute(r.segments, segments)).map((r) => r.method))].sort();
      const allow = allowHeader(allowed);
      if (method === 'OPTIONS') return { status: 204, headers: { Allow: allow } };
      throw new HttpError(405, `${method} is not allowed on ${pathname}: use ${allowed.join(' or ')}`, { Allow: allow });
    }
    countOne(this.#routeCounts, `${found.route.method} ${found.route.pattern}`);
    return found.route.handler(found.params, body);
  }

  // ---------------------------------------------------------------- envs and lifetime

  /** gym-http-api's _lookup_env. */
  #lookup(id: string, { allowLost = false } = {}): RestEnv {
    const env = this.#envs.get(id);
    if (!env) throw badRequest(`Instance_id ${id} unknown`);
    env.lastUsed = Date.now();
    if (env.lost && !allowLost) throw lostError(env);
    return env;
  }

  #newId(): string {
    for (;;) {
      const id = randomBytes(7).toString('hex').slice(0, 13);
      if (!this.#envs.has(id)) return id;
    }
  }

  async #create(envId: unknown, seed: unknown, kwargs: unknown, status: number): Promise<Reply> {
    if (typeof envId !== 'string' || envId.trim() === '') {
      throw badRequest(`Attempted to look up malformed environment ID '${pyStr(envId)}'`);
    }
    if (kwargs !== undefined && (typeof kwargs !== 'object' || kwargs === null || Array.isArray(kwargs))) {
      throw badRequest(`'kwargs' must be a JSON object of gym.make keyword arguments, got ${preview(JSON.stringify(kwargs))}`);
    }
    const seedText = seed === undefined ? null : seedParam(seed);
    if (this.#envs.size + this.#creating >= this.options.maxEnvs) {
      throw new HttpError(
        429,
        `too many environments: this server holds at most ${this.options.maxEnvs} (--rest-max-envs); close some with POST /v1/envs/<instance_id>/close/`,
      );
    }
    const env = new RestEnv(this.#newId(), envId, this.pool);
    this.#creating += 1;
    let made: ProtocolReply;
    let seeded: ProtocolReply | null = null;
    try {
      // Pipelined: the pool keeps the session's order, so the seed applies to the env just made.
      const making = env.request(requestLine(request.make(envId, kwargs as Record<string, unknown> | undefined)));
      const seeding = seedText === null ? null : env.request(requestLine(request.seed(seedText)));
      made = await making;
      if (seeding) seeded = await seeding;
    } finally {
      this.#creating -= 1;
    }
    const error = made.error ?? seeded?.error;
    if (error) {
      env.close();
      if (error.code === 'UNKNOWN_ENV') {
        throw badRequest(`Attempted to look up malformed environment ID '${envId}' (${error.message})`);
      }
      throw protocolError(error, env);
    }
    if (this.#closing) {
      env.close();
      throw new HttpError(503, 'the server is shutting down');
    }
    this.#envs.set(env.id, env);
    this.#envsCreated += 1;
    return json(`{"instance_id": "${env.id}"}`, status);
  }

  /** Closes an env that is already out of the table: its session, then its monitor's files. */
  async #dispose(env: RestEnv): Promise<void> {
    env.close();
    const monitor = env.monitor;
    env.monitor = null;
    if (monitor) {
      await env.settled();
      await monitor.close();
    }
  }

  #sweep(): void {
    const now = Date.now();
    for (const env of this.#envs.values()) {
      if (env.pending === 0 && now - env.lastUsed >= this.options.idleTimeoutMs) {
        this.#envs.delete(env.id);
        this.#envsExpired += 1;
        void this.#dispose(env).catch(() => {});
      }
    }
  }

  /** Sends a request line and returns its reply's JSON text, or throws the REST error for it. */
  async #ask(env: RestEnv, line: string, observe?: (reply: ProtocolReply) => void): Promise<string> {
    return (await this.#askReply(env, line, observe)).json ?? '';
  }

  /** Sends a request line and returns the JSON text of its reply's one value (`sample`'s action, `info`'s SPACE). */
  async #askValue(env: RestEnv, line: string): Promise<string> {
    return (await this.#askReply(env, line)).value ?? '';
  }

  async #askReply(env: RestEnv, line: string, observe?: (reply: ProtocolReply) => void): Promise<ProtocolReply> {
    const reply = await env.request(line, observe);
    if (reply.error) throw protocolError(reply.error, env);
    return reply;
  }

  // ---------------------------------------------------------------- routes

  #routeTable(): Route[] {
    const routes: Omit<Route, 'segments'>[] = [
      {
        pattern: '/v1/envs/',
        method: 'POST',
        doc:
          'Create an instance of the specified environment. Parameters: env_id (a gym environment ID string, such as ' +
          "'CartPole-v0'), seed (optional: seeds the first reset and the action space, as TCP's seed does), kwargs " +
          '(optional, gym-tcp: gym.make keyword arguments). Returns: instance_id, a short identifier for the instance.',
        handler: (_, body) => {
          const p = body.object();
          const envId = requiredParam(p, 'env_id');
          return this.#create(envId, optionalParam(p, 'seed', undefined), optionalParam(p, 'kwargs', undefined), 200);
        },
      },
      {
        pattern: '/v1/envs/',
        method: 'GET',
        doc: 'List all environments running on the server. Returns: all_envs, a dict mapping instance_id to env_id.',
        handler: () => {
          const all: Record<string, string> = {};
          for (const env of this.#envs.values()) all[env.id] = env.envId;
          return json(toPyJson({ all_envs: all }));
        },
      },
      {
        pattern: '/v1/envs/create/',
        method: 'POST',
        doc: "Create Environment (gym-server's route). Parameters: environment, such as 'CartPole-v0'. Returns: instance_id (status 201).",
        handler: (_, body) => this.#create(requiredParam(body.object(), 'environment'), undefined, undefined, 201),
      },
      {
        pattern: '/v1/envs/<instance_id>/reset/',
        method: 'POST',
        doc:
          'Reset the state of the environment and return an initial observation. Parameters: seed (optional, gym-tcp: ' +
          'reset with this seed). Returns: observation, and info (the reset info, gym-tcp).',
        handler: async ({ instance_id }, body) => {
          const env = this.#lookup(instance_id);
          const seed = optionalParam(body.optionalObject(), 'seed', undefined);
          const seedText = seed === undefined ? null : seedParam(seed);
          const monitor = env.monitor;
          const seeding = seedText === null ? null : this.#ask(env, requestLine(request.seed(seedText)));
          const onReset = (r: ProtocolReply) => {
            if (r.error === null) monitor?.onReset();
          };
          const resetting = this.#ask(env, LINES.reset, monitor ? onReset : undefined);
          resetting.catch(() => {}); // awaited below; a seed error is reported first
          if (seeding) await seeding;
          return json(await resetting);
        },
      },
      {
        pattern: '/v1/envs/<instance_id>/step/',
        method: 'POST',
        doc:
          "Run one timestep of the environment's dynamics. Parameters: action, render (optional; accepted, no display). " +
          'Returns: observation, reward, done, info, and terminated, truncated (Gymnasium).',
        handler: async ({ instance_id }, body) => {
          const p = body.object();
          const action = requiredParam(p, 'action');
          const render = renderFlag(optionalParam(p, 'render', false));
          const env = this.#lookup(instance_id);
          const monitor = env.monitor;
          const line = requestLine(request.step(action, render));
          return json(await this.#ask(env, line, monitor ? (r) => observeStep(r, monitor) : undefined));
        },
      },
      {
        pattern: '/v1/envs/<instance_id>/action_space/',
        method: 'GET',
        doc: "Get information (name and dimensions/bounds) of the env's action_space. Returns: info, a SPACE.",
        handler: async ({ instance_id }) => json(await this.#ask(this.#lookup(instance_id), LINES.actionSpace)),
      },
      {
        pattern: '/v1/envs/<instance_id>/action_space/sample',
        method: 'GET',
        doc: "Get a sample from the env's action_space. Returns: action.",
        handler: async ({ instance_id }) => {
          return json(`{"action": ${await this.#askValue(this.#lookup(instance_id), LINES.sample)}}`);
        },
      },
      {
        pattern: '/v1/envs/<instance_id>/action_space/contains/<x>',
        method: 'GET',
        doc:
          "Assess that x is a member of the env's action_space. x is an integer (gym-tcp also takes a JSON value, " +
          'e.g. [0.5], for other spaces). Returns: member.',
        handler: async ({ instance_id, x }) => {
          const env = this.#lookup(instance_id);
          const value = containsValue(x);
          return json(await this.#ask(env, requestLine(request.contains('action', value))));
        },
      },
      {
        pattern: '/v1/envs/<instance_id>/observation_space/',
        method: 'GET',
        doc: "Get information (name and dimensions/bounds) of the env's observation_space. Returns: info, a SPACE.",
        handler: async ({ instance_id }) => json(await this.#ask(this.#lookup(instance_id), LINES.observationSpace)),
      },
      {
        pattern: '/v1/envs/<instance_id>/observation_space/contains',
        method: 'POST',
        doc:
          'Assess that the given space properties (a JSON object such as {"name": "Box", "shape": [4]}) match the ' +
          "env's observation_space. Returns: member.",
        handler: async ({ instance_id }, body) => {
          const env = this.#lookup(instance_id);
          const wanted = body.object();
          const space = JSON.parse(await this.#askValue(env, LINES.observationSpace)) as Record<string, unknown>;
          return json(`{"member": ${spaceMatches(space, wanted)}}`);
        },
      },
      {
        pattern: '/v1/envs/<instance_id>/info',
        method: 'GET',
        doc: "Expose useful information (gym-server's route). Returns: action_space and observation_space, each a SPACE.",
        handler: async ({ instance_id }) => {
          const env = this.#lookup(instance_id);
          const [action, observation] = await Promise.all([this.#askValue(env, LINES.actionSpace), this.#askValue(env, LINES.observationSpace)]);
          return json(`{"action_space": ${action}, "observation_space": ${observation}}`);
        },
      },
      {
        pattern: '/v1/envs/<instance_id>/monitor/start/',
        method: 'POST',
        doc:
          'Start monitoring: episode statistics are written to files in directory (below the server\'s monitor root) ' +
          'when the monitor closes. Parameters: directory, force (default false: clear the directory\'s "openaigym." ' +
          'files), resume (default false: keep the data already there), video_callable (false, or record every n-th episode).',
        handler: async ({ instance_id }, body) => {
          const p = body.object();
          const directory = requiredParam(p, 'directory');
          const force = flagParam(optionalParam(p, 'force', false), 'force');
          const resume = flagParam(optionalParam(p, 'resume', false), 'resume');
          const videoEvery = videoCallable(optionalParam(p, 'video_callable', false));
          const env = this.#lookup(instance_id);
          if (typeof directory !== 'string') throw badRequest(`'directory' must be a string, got ${preview(JSON.stringify(directory))}`);
          // A second start closes the first monitor (its files are written), as closing it would.
          const previous = env.monitor;
          env.monitor = null;
          if (previous) {
            await env.settled();
            await previous.close().catch(() => {});
          }
          let monitor: EpisodeMonitor;
          try {
            monitor = await EpisodeMonitor.start({ root: this.options.monitorRoot, directory, force, resume, videoEvery, envId: env.envId });
          } catch (err) {
            if (err instanceof MonitorError) throw badRequest(err.message);
            throw new HttpError(500, `could not prepare the monitor directory: ${(err as Error).message}`);
          }
          if (env.closed) await monitor.close();
          else env.monitor = monitor;
          return NO_CONTENT;
        },
      },
      {
        pattern: '/v1/envs/<instance_id>/monitor/close/',
        method: 'POST',
        doc: 'Flush all monitor data to disk (the stats and manifest files), and stop monitoring.',
        handler: async ({ instance_id }) => {
          const env = this.#lookup(instance_id, { allowLost: true });
          const monitor = env.monitor;
          env.monitor = null;
          if (monitor) {
            await env.settled();
            await monitor.close().catch((err) => {
              throw new HttpError(500, `could not write the monitor files: ${(err as Error).message}`);
            });
          }
          return NO_CONTENT;
        },
      },
      {
        pattern: '/v1/envs/<instance_id>/close/',
        method: 'POST',
        doc: 'Manually close an environment (its monitor, if any, writes its files).',
        handler: async ({ instance_id }) => {
          const env = this.#lookup(instance_id, { allowLost: true });
          this.#envs.delete(env.id);
          await this.#dispose(env).catch((err) => {
            throw new HttpError(500, `the environment is closed, but its monitor files could not be written: ${(err as Error).message}`);
          });
          return NO_CONTENT;
        },
      },
      {
        pattern: '/v1/upload/',
        method: 'POST',
        doc:
          'Upload the results of training to OpenAI Gym. Parameters: training_dir, api_key, algorithm_id (optional). ' +
          'The upload service no longer exists: with every parameter given, the answer is a 410.',
        handler: (_, body) => {
          const p = body.object();
          requiredParam(p, 'training_dir');
          requiredParam(p, 'api_key');
          throw new HttpError(
            410,
            "The OpenAI Gym upload service (gym.upload, the gym.openai.com scoreboard) was shut down in 2017 and no longer exists: nothing was uploaded. The monitor's files stay in the server's monitor directory.",
          );
        },
      },
      {
        pattern: '/v1/shutdown/',
        method: 'POST',
        doc: 'Request a server shutdown (only when the server was started with --allow-shutdown; otherwise 403).',
        handler: () => {
          if (!this.options.allowShutdown) {
            throw new HttpError(403, 'shutting the server down over HTTP is disabled: the operator can allow it with --allow-shutdown');
          }
          return {
            status: 200,
            body: 'Server shutting down',
            contentType: 'text/html; charset=utf-8',
            headers: { Connection: 'close' },
            after: () => (this.options.onShutdown ? this.options.onShutdown() : void this.close()),
          };
        },
      },
      {
        pattern: '/recordings/<file>',
        method: 'GET',
        doc: "An episode's video: the TCP protocol's `url` reply links here. Video arrives with rendering; until then, 404.",
        handler: ({ file }) => {
          throw new HttpError(404, `no recording ${file}: gym-tcp does not record video yet (it arrives with rendering)`);
        },
      },
      {
        pattern: '/v1/help',
        method: 'GET',
        doc: 'The routes, with their methods and docs (gym-server\'s route).',
        handler: () => json(this.#help),
      },
    ];
    return routes.map((r) => ({ ...r, segments: r.pattern.split('/').filter((s) => s !== '') }));
  }
}

// ------------------------------------------------------------------ helpers

function matchRoute(pattern: string[], segments: string[]): Params | null {
  if (pattern.length !== segments.length) return null;
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.startsWith('<')) {
      if (segments[i] === '') return null;
      params[p.slice(1, -1)] = segments[i];
    } else if (p !== segments[i]) {
      return null;
    }
  }
  return params;
}

function allowHeader(methods: string[]): string {
  const all = new Set(methods);
  if (all.has('GET')) all.add('HEAD');
  all.add('OPTIONS');
  return [...all].sort().join(', ');
}

/**
 * gym-server's /v1/help: {"v1": {rule: {"methods": "GET,HEAD,OPTIONS", "doc": …}}}. A path served by
 * two methods has one entry, its docs prefixed with their method.
 */
function helpJson(routes: Route[]): string {
  const v1: Record<string, { methods: string; doc: string }> = {};
  for (const pattern of new Set(routes.map((r) => r.pattern))) {
    const served = routes.filter((r) => r.pattern === pattern);
    v1[pattern] = {
      methods: allowHeader(served.map((r) => r.method)).replaceAll(' ', ''),
      doc: served.length === 1 ? served[0].doc : served.map((r) => `${r.method}: ${r.doc}`).join('\n'),
    };
  }
  return toPyJson({ v1 });
}

function errorReply(err: unknown): Reply {
  if (err instanceof HttpError) {
    return { status: err.status, body: toPyJson({ message: err.message }) + '\n', headers: err.headers };
  }
  return { status: 500, body: toPyJson({ message: `internal error: ${err instanceof Error ? err.message : String(err)}` }) + '\n' };
}

/** Why a request's Authorization header does not carry the token, or null when it does. */
function authProblem(header: string | undefined, token: string): string | null {
  if (!header) return 'this server needs a token: send the header "Authorization: Bearer <token>" (or HTTP Basic with the token as password)';
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space === -1 ? header.length : space).toLowerCase();
  const value = space === -1 ? '' : header.slice(space + 1).trim();
  let candidates: string[];
  if (scheme === 'bearer') {
    candidates = [value];
  } else if (scheme === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    candidates = colon === -1 ? [decoded] : [decoded.slice(colon + 1), decoded.slice(0, colon)];
  } else {
    return `unsupported Authorization scheme ${preview(scheme)}: use Bearer or Basic`;
  }
  // Every candidate is compared (in constant time), so timing says nothing about which one matched.
  let ok = false;
  for (const candidate of candidates) if (candidate !== '' && tokenMatches(candidate, token)) ok = true;
  return ok ? null : 'wrong token';
}

function lostError(env: RestEnv): HttpError {
  return new HttpError(
    410,
    `Instance_id ${env.id} is gone: the worker thread that held the environment stopped. Create a new one with POST /v1/envs/ ` +
      `(POST /v1/envs/${env.id}/close/ forgets this one).`,
  );
}

/** A protocol error reply → the REST error (400 with the protocol's message, in REST terms where they differ). */
function protocolError(error: { code: string; message: string }, env: RestEnv): HttpError {
  switch (error.code) {
    case 'ENV_LOST':
      return lostError(env);
    case 'NO_ENV':
      return badRequest(`Instance_id ${env.id} unknown`);
    case 'RESET_NEEDED':
      return badRequest(`reset the environment before stepping: POST /v1/envs/${env.id}/reset/`);
    case 'TOO_MANY_ENVS':
      return new HttpError(429, `${error.message} (the server-wide --max-envs, shared with TCP)`);
    case 'ENV_FAILED':
      return new HttpError(500, error.message);
    case 'SHUTTING_DOWN':
      return new HttpError(503, error.message);
    default:
      return badRequest(error.message);
  }
}

/**
 * gym-http-api parsed `x` with Python's int(): an integer, optionally signed, with spaces around. gym-tcp
 * also takes any JSON value (`[0.5]` for a Box), so other spaces can be asked too.
 */
function containsValue(x: string): unknown {
  const text = x.trim();
  if (/^[+-]?[0-9]+$/.test(text)) return Number(text);
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest(`invalid literal for int() with base 10: '${x}' (action_space/contains/<x> takes an integer, or a JSON value such as [0.5])`);
  }
}

/**
 * gym-http-api compared each given property with the space's (`json.dumps(info[key]) != json.dumps(value)`).
 * Here values compare as JSON values: numbers by value (4 and 4.0 are equal; float32 bounds also match
 * their float32 rounding, so -4.8 matches -4.800000190734863), lists element by element. A property the
 * space does not have does not match (gym-http-api failed with a 500 there).
 */
function spaceMatches(space: Record<string, unknown>, wanted: Record<string, unknown>): boolean {
  const float32 = space.dtype === 'float32';
  const same = (a: unknown, b: unknown): boolean => {
    if (typeof a === 'number' && typeof b === 'number') return a === b || (float32 && Math.fround(a) === Math.fround(b));
    if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
      const ka = Object.keys(a);
      const kb = Object.keys(b);
      return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && same((a as never)[k], (b as never)[k]));
    }
    return a === b;
  };
  return Object.keys(wanted).every((key) => Object.hasOwn(space, key) && same(space[key], wanted[key]));
}

/** The monitor records an episode the step ended, as the EnvRunner counted it; it never fails the request. */
function observeStep(reply: ProtocolReply, monitor: EpisodeMonitor): void {
  if (reply.episode) monitor.onEpisodeEnd(reply.episode.r, reply.episode.l);
}

/** `render` never fails a step (there is no display): flags as flagParam reads them, anything else by truthiness. */
function renderFlag(value: unknown): boolean {
  try {
    return flagParam(value, 'render');
  } catch {
    return Boolean(value);
  }
}

/**
 * gym-http-api: `video_callable == False` disables videos, an integer n records every n-th episode
 * (`count % n == 0`; True counts as 1). Videos come with rendering; the setting is validated and kept.
 */
function videoCallable(value: unknown): number {
  if (value === false || value === 0 || value === null || value === undefined) return 0;
  if (value === true) return 1;
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  throw badRequest(`'video_callable' must be false or a positive integer n (record every n-th episode), got ${preview(JSON.stringify(value))}`);
}
