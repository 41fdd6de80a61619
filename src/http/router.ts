/**
 * The REST front's routing: a table of Flask-style patterns (`/v1/envs/<instance_id>/step/`), matched
 * segment by segment, with HEAD served as GET, OPTIONS and 405 answered from the methods a path has
 * (its Allow header), and gym-server's /v1/help made from the same table. A table of a dozen patterns
 * needs no framework.
 */
import type { ServerResponse } from 'node:http';
import { toPyJson } from '../json/pyjson.js';
import { HttpError, badRequest } from './errors.js';
import { preview, type RequestBody } from './params.js';
import { countOne } from '../stats.js';

/** What a route answers. A JSON body ends with a newline, as Flask's jsonify writes it. */
export interface Reply {
  status: number;
  body?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
  /** Runs after the response has been sent. */
  after?: () => void;
  /**
   * A response that goes on (server-sent events): called once the status and headers are written,
   * it writes the body and ends the response itself. `body` is not used.
   */
  stream?: (res: ServerResponse) => void;
}

/** A JSON reply (`body` is JSON text). */
export const json = (body: string, status = 200): Reply => ({ status, body: body + '\n' });
export const NO_CONTENT: Reply = { status: 204 };

/** The values of a route's `<name>` segments, by name. */
export type Params = Record<string, string>;
export type Handler = (params: Params, body: RequestBody) => Reply | Promise<Reply>;

/** One route as the route modules declare it. */
export interface RouteSpec {
  pattern: string;
  method: 'GET' | 'POST';
  /** Its line in /v1/help. */
  doc: string;
  handler: Handler;
}

interface Route extends RouteSpec {
  segments: string[];
}

export class Router {
  readonly #routes: Route[];
  /** Requests routed, by `METHOD pattern`, since start (stats(); never reset). */
  readonly counts = new Map<string, number>();
  /** gym-server's /v1/help body for this table. */
  readonly help: string;

  /** `routes` in the order /v1/help lists them. */
  constructor(routes: RouteSpec[]) {
    this.#routes = routes.map((r) => ({ ...r, segments: r.pattern.split('/').filter((s) => s !== '') }));
    this.help = helpJson(this.#routes);
  }

  /** The reply of the route that `method` and `url` name; an HttpError (404, 405, 400) when there is none. */
  async dispatch(method: string, url: string, body: RequestBody): Promise<Reply> {
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
    countOne(this.counts, `${found.route.method} ${found.route.pattern}`);
    return found.route.handler(found.params, body);
  }
}

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
