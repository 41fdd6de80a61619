/**
 * The live view in the browser, and gym-server's rendered frames:
 *
 * - `/` the page: the environments alive now (both fronts) and the recent recordings; `/?instance=ID`
 *   one env, its frames pushed as they are rendered and a plot of its episode returns. Plain HTML and
 *   JavaScript (src/live/web/).
 * - `/live/envs` the list as JSON; `/live/envs/<instance>/events` one env as server-sent events.
 * - gym-server's `/<instance_id>/rendered/` (the env's kept frames as PNGs, `latest.png` and
 *   `<n>.png`) and `/render.html?instance_id=ID` (the latest frame, refreshed every 500 ms).
 *
 * Server-sent events rather than a WebSocket: one direction is all the view needs, it is plain HTTP
 * (the REST front's token check, proxies, HTTP Basic in the browser all apply unchanged), and the
 * browser reconnects by itself.
 */
import type { ServerResponse } from 'node:http';
import type { EncodedFrame, LiveFrames } from '../../live/live-frames.js';
import type { LiveEnv, LiveEnvs } from '../../live/live-envs.js';
import { WEB_FILES, webFile, type WebFile } from '../../live/web.js';
import { HttpError } from '../errors.js';
import { json, type Reply, type RouteSpec } from '../router.js';

/** How often a watching browser gets the env's counters and new returns (when they changed). */
const STATE_EVERY_MS = 500;
/** A comment line this often keeps proxies from closing a quiet stream. */
const HEARTBEAT_EVERY_MS = 15_000;

const page = (name: WebFile): Reply => ({
  status: 200,
  body: webFile(name),
  contentType: WEB_FILES[name],
  headers: { 'Cache-Control': 'no-cache' },
});

export function liveRoutes(live: LiveEnvs, frames: LiveFrames) {
  const streams = new Set<LiveStream>();
  live.onGone((env) => {
    for (const stream of streams) if (stream.env === env) stream.gone();
  });

  /** An env alive now, or the 404 that says it is not. */
  const aliveEnv = (instance: string): LiveEnv => {
    const env = live.get(instance);
    if (!env) throw new HttpError(404, `no environment ${instance} is alive now: GET /live/envs lists them`);
    return env;
  };

  const routes = {
    page: {
      pattern: '/',
      method: 'GET',
      doc: 'The live view: the environments alive now and the recent recordings; /?instance=ID shows one env live.',
      handler: () => page('index.html'),
    },
    script: {
      pattern: '/live/<file>',
      method: 'GET',
      doc: "The live view's script and style (live.js, live.css).",
      handler: ({ file }) => {
        if (file !== 'live.js' && file !== 'live.css') throw new HttpError(404, `no file /live/${file}`);
        return page(file);
      },
    },
    list: {
      pattern: '/live/envs',
      method: 'GET',
      doc: 'The environments alive now, on both fronts: {"envs": [{instance, env_id, front, steps, episodes, last_return, created}, …]}.',
      handler: () => json(JSON.stringify({ envs: live.list().map((env) => env.summary()) })),
    },
    events: {
      pattern: '/live/envs/<instance>/events',
      method: 'GET',
      doc:
        'One environment as server-sent events: env (once), frame (a PNG in base64, as rendered, at most ' +
        '15 a second), state (steps, episodes and the returns since the last state), gone.',
      handler: ({ instance }) => {
        const env = aliveEnv(instance);
        return {
          status: 200,
          contentType: 'text/event-stream; charset=utf-8',
          headers: { 'Cache-Control': 'no-cache', 'X-Accel-Buffering': 'no' },
          stream: (res) => {
            const stream = new LiveStream(res, env, frames, () => streams.delete(stream));
            streams.add(stream);
          },
        };
      },
    },
    rendered: {
      pattern: '/<instance_id>/rendered/',
      method: 'GET',
      doc: "gym-server's rendered frames of an env: a listing of its kept PNGs (the latest ones) and latest.png.",
      handler: ({ instance_id }) => {
        const kept = frames.kept(instance_id);
        if (kept.length === 0) aliveEnv(instance_id);
        const links = ['latest.png', ...kept.map((f) => `${f.n}.png`)].map((name) => `<li><a href="${name}">${name}</a></li>`);
        const body =
          `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Frames of ${escapeHtml(instance_id)}</title></head>\n` +
          `<body><h1>Frames of ${escapeHtml(instance_id)}</h1>\n<ul>\n${links.join('\n')}\n</ul>\n</body></html>\n`;
        return { status: 200, body, contentType: 'text/html; charset=utf-8' };
      },
    },
    renderedFile: {
      pattern: '/<instance_id>/rendered/<file>',
      method: 'GET',
      doc: "One of an env's rendered frames as a PNG: latest.png, or <n>.png (n counts the env's published frames from 0).",
      handler: ({ instance_id, file }) => {
        const kept = frames.kept(instance_id);
        const frame = file === 'latest.png' ? kept[kept.length - 1] : kept.find((f) => `${f.n}.png` === file);
        if (!frame) {
          if (kept.length === 0) aliveEnv(instance_id);
          throw new HttpError(
            404,
            kept.length === 0
              ? `environment ${instance_id} has rendered no frame yet: step it with "render": 1`
              : `no frame ${file} of environment ${instance_id}: the latest ones are kept, GET /${instance_id}/rendered/ lists them`,
          );
        }
        return { status: 200, body: frame.png, contentType: 'image/png', headers: { 'Cache-Control': 'no-store' } };
      },
    },
    renderPage: {
      pattern: '/render.html',
      method: 'GET',
      doc: "gym-server's page of an env's latest frame, refreshed every 500 ms: /render.html?instance_id=ID.",
      handler: () => page('render.html'),
    },
  } satisfies Record<string, RouteSpec>;

  return {
    routes,
    /** Ends every event stream (the server is closing: they would hold it open). */
    closeStreams(): void {
      for (const stream of streams) stream.end();
    },
  };
}

/** A frame as its `frame` event's data; the base64 made once per frame, whatever the number of watchers. */
const frameData = new WeakMap<EncodedFrame, string>();
function frameEventData(frame: EncodedFrame): string {
  let data = frameData.get(frame);
  if (data === undefined) {
    const { n, episode, step, width, height } = frame;
    data = JSON.stringify({ n, episode, step, width, height, png: frame.png.toString('base64') });
    frameData.set(frame, data);
  }
  return data;
}

/**
 * One browser watching one env. It holds at most one frame it could not send yet (the socket was
 * full): a newer one replaces it, so a browser that reads slowly skips frames and costs no more memory.
 * Counters and returns go out every STATE_EVERY_MS when they changed, from where the last state left
 * off, so nothing piles up for them either.
 */
class LiveStream {
  #unwatch: () => void;
  #timer: NodeJS.Timeout;
  #waitingFrame: EncodedFrame | null = null;
  #sentReturns = 0;
  #sentSteps = -1;
  #lastWrite = Date.now();
  #ended = false;

  constructor(
    readonly res: ServerResponse,
    readonly env: LiveEnv,
    frames: LiveFrames,
    readonly onEnd: () => void,
  ) {
    res.socket?.setNoDelay(true);
    this.#write('env', JSON.stringify({ instance: env.instance, env_id: env.envId, front: env.front }));
    this.#sentReturns = env.returnsSince(0).from;
    this.#state();
    const latest = frames.latest(env.instance);
    if (latest) this.#frame(latest);
    this.#unwatch = frames.watch(env.instance, (frame) => this.#frame(frame));
    this.#timer = setInterval(() => this.#state(), STATE_EVERY_MS);
    res.on('drain', () => {
      if (this.#waitingFrame) this.#frame(this.#waitingFrame);
    });
    res.on('close', () => this.end());
  }

  #frame(frame: EncodedFrame): void {
    if (this.res.writableNeedDrain) {
      this.#waitingFrame = frame;
      return;
    }
    this.#waitingFrame = null;
    this.#write('frame', frameEventData(frame));
  }

  #state(): void {
    if (this.#ended || this.res.writableNeedDrain) return;
    const { env } = this;
    if (env.steps !== this.#sentSteps || env.episodes > this.#sentReturns) {
      const { from, returns } = env.returnsSince(this.#sentReturns);
      this.#write('state', JSON.stringify({ steps: env.steps, episodes: env.episodes, episode_steps: env.episodeSteps, from, returns }));
      this.#sentSteps = env.steps;
      this.#sentReturns = from + returns.length;
    } else if (Date.now() - this.#lastWrite >= HEARTBEAT_EVERY_MS) {
      this.res.write(': heartbeat\n\n');
      this.#lastWrite = Date.now();
    }
  }

  #write(event: string, data: string): void {
    if (this.#ended) return;
    this.res.write(`event: ${event}\ndata: ${data}\n\n`);
    this.#lastWrite = Date.now();
  }

  /** The env went: the last counters, then `gone`, then the stream ends. */
  gone(): void {
    this.#state();
    this.#write('gone', JSON.stringify({ instance: this.env.instance }));
    this.end();
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    clearInterval(this.#timer);
    this.#unwatch();
    this.res.end();
    this.onEnd();
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
